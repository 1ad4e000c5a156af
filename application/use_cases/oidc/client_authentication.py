"""Who is calling the token endpoint (RFC 6749 §2.3.1, §3.2.1): a confidential client by its
secret, sent with HTTP Basic (`client_secret_basic`) or in the form (`client_secret_post`), or a
public client by its id alone (`none`), which then proves itself with PKCE."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from application.client_credentials import client_secret_matches, hash_client_secret
from application.ports.persistence import UnitOfWork
from application.use_cases.oidc.client_ids import could_be_client_id
from application.use_cases.oidc.token_errors import TokenError, TokenRequestRefused
from domain.oauth_client import OAuthClient

# Compared against when there is no client to compare with, so that an unknown client id costs
# what a wrong secret costs.
_NO_SUCH_SECRET_HASH = hash_client_secret("no client has this secret")


class ClientAuthMethod(StrEnum):
    CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method's name)
    CLIENT_SECRET_POST = "client_secret_post"  # noqa: S105 (a method's name)
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What the request presented, read by one method; `client_secret` is None for `none`."""

    method: ClientAuthMethod
    client_id: str
    client_secret: str | None = None


def _refused(credentials: ClientCredentials, description: str) -> TokenRequestRefused:
    return TokenRequestRefused(
        TokenError.INVALID_CLIENT,
        description,
        basic_challenge=credentials.method is ClientAuthMethod.CLIENT_SECRET_BASIC,
    )


async def authenticate_client(
    uow: UnitOfWork, credentials: ClientCredentials | None
) -> OAuthClient:
    """The registered client the credentials prove, or invalid_client."""
    if credentials is None:
        raise TokenRequestRefused(TokenError.INVALID_CLIENT, "client authentication is required")
    client = None
    if could_be_client_id(credentials.client_id):
        client = await uow.oauth_clients.get(credentials.client_id)
    return proven_client(client, credentials)


def proven_client(client: OAuthClient | None, credentials: ClientCredentials) -> OAuthClient:
    """`client` (the one registered under the presented id, or None) if the credentials prove
    it, else invalid_client. A confidential client must present its secret; a public one must
    not present any (it has none to prove)."""
    secret = credentials.client_secret
    if secret is not None:
        expected = client.secret_hash if client is not None else _NO_SUCH_SECRET_HASH
        matches = client_secret_matches(secret, expected or _NO_SUCH_SECRET_HASH)
        if client is None or not client.is_confidential or not matches:
            raise _refused(credentials, "client authentication failed")
        return client
    if client is None or client.is_confidential:
        raise _refused(credentials, "client authentication failed")
    return client

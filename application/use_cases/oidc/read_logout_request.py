from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import IdTokens
from application.use_cases.oidc.client_ids import could_be_client_id


@dataclass(frozen=True, slots=True)
class LogoutRequestQuery:
    """The parameters of RP-initiated logout that name where to go afterwards."""

    client_id: str | None = None
    post_logout_redirect_uri: str | None = None
    state: str | None = None
    id_token_hint: str | None = None


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    """`client_id` and `client_name` when the request names a registered client (by `client_id`
    or by the audience of its ID token hint); `post_logout_redirect_uri`, carrying `state`, only
    when the request's URI is, as a string, one that client registered."""

    client_id: str | None = None
    client_name: str | None = None
    post_logout_redirect_uri: str | None = None


class ReadLogoutRequest:
    """Where an application that asks to sign the person out may send them back to. A URI the
    client did not register, or one given without the client it belongs to, is never followed:
    the logout endpoint must not become a redirector to anywhere."""

    def __init__(self, uow: UnitOfWorkFactory, id_tokens: IdTokens) -> None:
        self._uow = uow
        self._id_tokens = id_tokens

    async def execute(self, query: LogoutRequestQuery) -> LogoutRequest:
        client_id = await self._client_named(query)
        if client_id is None or not could_be_client_id(client_id):
            return LogoutRequest()
        async with self._uow() as uow:
            client = await uow.oauth_clients.get(client_id)
        if client is None:
            return LogoutRequest()
        named = LogoutRequest(client_id=client.client_id, client_name=client.name)
        uri = query.post_logout_redirect_uri
        if uri is None or uri not in client.post_logout_redirect_uris:
            return named
        return LogoutRequest(
            client_id=client.client_id,
            client_name=client.name,
            post_logout_redirect_uri=with_state(uri, query.state),
        )

    async def _client_named(self, query: LogoutRequestQuery) -> str | None:
        """The client the request is about. A hint that does not verify, or that names another
        client than `client_id` does, names none: nobody is sent anywhere on its word."""
        if query.id_token_hint is None:
            return query.client_id
        hint = await self._id_tokens.verify_hint(query.id_token_hint)
        if hint is None or query.client_id not in (None, hint.client_id):
            return None
        return hint.client_id


def with_state(uri: str, state: str | None) -> str:
    """The URI with `state` added to its query, as OpenID Connect RP-Initiated Logout 1.0 §3
    asks; the URI itself when there is none."""
    if state is None:
        return uri
    parts = urlsplit(uri)
    added = urlencode({"state": state})
    return urlunsplit(parts._replace(query=f"{parts.query}&{added}" if parts.query else added))

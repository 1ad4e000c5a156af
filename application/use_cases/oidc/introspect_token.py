"""Token introspection (RFC 7662): a confidential client (a resource server, typically) asks
whether a token is active, and learns of a logout, a revocation or a deactivation the moment it
happens rather than when the token expires.

An access token is active while it verifies and its session is live, whichever confidential
client asks: a resource server is often registered apart from the application whose tokens it
serves, and what it learns beyond `active` is what the signed token already says to anyone
holding it. A refresh token is active only to the client it was issued to, the one client that
should ever hold it. Every other token, and every token a client may not see, is
`{"active": false}` and nothing more (RFC 7662 §2.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.errors import InvalidAccessToken
from application.ports.persistence import (
    IntrospectionReader,
    OAuthSessionOfToken,
    UnitOfWorkFactory,
)
from application.ports.security import OAuthAccessTokens
from application.ports.system import Clock
from application.secret_tokens import hash_secret_token
from application.use_cases.oidc.client_authentication import (
    ClientCredentials,
    authenticate_client,
    proven_client,
)
from application.use_cases.oidc.client_ids import could_be_client_id
from application.use_cases.oidc.presented_token import PresentedToken, TokenKind
from application.use_cases.oidc.token_errors import TokenError, TokenRequestRefused
from domain.oauth_client import OAuthClient
from domain.session import SessionKind


@dataclass(frozen=True, slots=True)
class IntrospectionCommand:
    parameters: Sequence[tuple[str, str]]
    credentials: ClientCredentials | None


@dataclass(frozen=True, slots=True)
class ActiveToken:
    """What an active token is: the claims of RFC 7662 §2.2 this service answers with.
    `token_id` is an access token's `jti`; a refresh token has none."""

    kind: TokenKind
    subject: UUID
    client_id: str
    scope: tuple[str, ...]
    session_id: UUID
    issued_at: datetime
    expires_at: datetime
    token_id: UUID | None = None


class IntrospectToken:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        reader: IntrospectionReader,
        clock: Clock,
        tokens: OAuthAccessTokens,
    ) -> None:
        self._uow = uow
        self._reader = reader
        self._clock = clock
        self._tokens = tokens

    async def execute(self, command: IntrospectionCommand) -> ActiveToken | None:
        """The token as it stands if it is active for this client; None if it is not.
        invalid_client for a client that does not prove itself, or a public one."""
        presented = PresentedToken.from_parameters(command.parameters)
        credentials = command.credentials
        if credentials is None:
            raise TokenRequestRefused(
                TokenError.INVALID_CLIENT, "client authentication is required"
            )
        if presented.kind is TokenKind.ACCESS_TOKEN:
            return await self._access_token(presented.text, credentials)
        return await self._refresh_token(presented.text, credentials)

    async def _access_token(self, text: str, credentials: ClientCredentials) -> ActiveToken | None:
        """The hot path: one read finds both the asking client and the token's session."""
        try:
            claims = await self._tokens.verify(text)
        except InvalidAccessToken:
            claims = None
        session = OAuthSessionOfToken(
            session_id=claims.session_id if claims else _NO_SESSION,
            user_id=claims.subject if claims else _NO_SESSION,
            client_id=claims.client_id if claims else "",
        )
        asking = credentials.client_id if could_be_client_id(credentials.client_id) else ""
        facts = await self._reader.read(asking, session, self._clock.now())
        _confidential(proven_client(facts.client, credentials))
        if claims is None or not facts.session_live:
            return None
        return ActiveToken(
            kind=TokenKind.ACCESS_TOKEN,
            subject=claims.subject,
            client_id=claims.client_id,
            scope=claims.scope,
            session_id=claims.session_id,
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
            token_id=claims.token_id,
        )

    async def _refresh_token(self, text: str, credentials: ClientCredentials) -> ActiveToken | None:
        now = self._clock.now()
        async with self._uow() as uow:
            client = _confidential(await authenticate_client(uow, credentials))
            session = await uow.sessions.find_usable_by_token(
                hash_secret_token(text), SessionKind.OAUTH, now
            )
            if session is None or session.client_id != client.client_id:
                return None
            user = await uow.users.get(session.user_id)
        if user is None or not user.is_active:
            return None
        return ActiveToken(
            kind=TokenKind.REFRESH_TOKEN,
            subject=session.user_id,
            client_id=client.client_id,
            scope=tuple(sorted(session.scopes or ())),
            session_id=session.id,
            issued_at=session.last_used_at,
            expires_at=session.expires_at,
        )


# Stands for "no session" in the one read when the token did not verify: no row has it.
_NO_SESSION = UUID(int=0)


def _confidential(client: OAuthClient) -> OAuthClient:
    if not client.is_confidential:
        raise TokenRequestRefused(
            TokenError.INVALID_CLIENT, "introspection is for confidential clients"
        )
    return client

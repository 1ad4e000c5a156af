"""Token revocation (RFC 7009): a client gives back a refresh token or an access token it holds,
and the session they belong to ends, with every token of it. An access token cannot be revoked
alone (it is a signed JWT, checked without the database by resource servers that verify it
themselves), so revoking one revokes its session, which RFC 7009 §2.1 allows; resource servers
that introspect, userinfo and the refresh grant all see it at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import InvalidAccessToken
from application.ports.persistence import UnitOfWork, UnitOfWorkFactory
from application.ports.security import OAuthAccessTokens
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token
from application.use_cases.oidc.client_authentication import (
    ClientCredentials,
    authenticate_client,
)
from application.use_cases.oidc.presented_token import PresentedToken, TokenKind
from application.use_cases.oidc.token_errors import invalid_grant
from application.webhook_events import revoke_and_report
from domain.audit_event import AuditEventType
from domain.oauth_client import OAuthClient
from domain.session import SessionKind
from domain.session_scope import SessionScope


@dataclass(frozen=True, slots=True)
class RevocationCommand:
    parameters: Sequence[tuple[str, str]]
    credentials: ClientCredentials | None
    caller: Caller = NO_CALLER


@dataclass(frozen=True, slots=True)
class _TokenSession:
    user_id: UUID
    session_id: UUID
    client_id: str | None
    kind: TokenKind


class RevokeToken:
    """Public clients may revoke too (by their id alone): a token is revoked only by the client
    it was issued to, and holding it is what revoking needs. A token that is unknown, expired or
    already revoked is answered like a revoked one (RFC 7009 §2.2): the client's aim is met. One
    issued to another client is refused with invalid_grant and revokes nothing."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        tokens: OAuthAccessTokens,
        ids: IdGenerator,
        audit: AuditEvents,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._tokens = tokens
        self._ids = ids
        self._audit = audit

    async def execute(self, command: RevocationCommand) -> None:
        presented = PresentedToken.from_parameters(command.parameters)
        as_access_token = None
        if presented.kind is TokenKind.ACCESS_TOKEN:
            as_access_token = await self._access_token_session(presented.text)
        now = self._clock.now()
        async with self._uow() as uow:
            client = await authenticate_client(uow, command.credentials)
            found = as_access_token
            if presented.kind is TokenKind.REFRESH_TOKEN:
                found = await self._refresh_token_session(uow, presented.text)
            if found is None:
                return
            if found.client_id != client.client_id:
                raise invalid_grant("the token was not issued to this client")
            revoked = await revoke_and_report(
                uow, SessionScope.one(found.user_id, found.session_id), self._ids, now
            )
            if revoked:
                await self._record(uow, client, found, command.caller)
                await uow.commit()

    async def _access_token_session(self, text: str) -> _TokenSession | None:
        try:
            claims = await self._tokens.verify(text)
        except InvalidAccessToken:
            return None
        return _TokenSession(
            claims.subject, claims.session_id, claims.client_id, TokenKind.ACCESS_TOKEN
        )

    async def _refresh_token_session(self, uow: UnitOfWork, text: str) -> _TokenSession | None:
        session = await uow.sessions.find_usable_by_token(
            hash_secret_token(text), SessionKind.OAUTH, self._clock.now()
        )
        if session is None:
            return None
        return _TokenSession(
            session.user_id, session.id, session.client_id, TokenKind.REFRESH_TOKEN
        )

    async def _record(
        self, uow: UnitOfWork, client: OAuthClient, found: _TokenSession, caller: Caller
    ) -> None:
        await uow.audit.record(
            self._audit.event(
                AuditEventType.OAUTH_TOKEN_REVOKED,
                caller,
                user_id=found.user_id,
                actor_id=None,
                client_id=client.client_id,
                session_id=str(found.session_id),
                kind=found.kind.value,
            )
        )

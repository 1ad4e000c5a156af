"""The authorization_code grant (RFC 6749 §4.1.3, OpenID Connect Core §3.1.3.2): a code, once,
from the client it was issued to, with the redirect URI it was sent to and the verifier of its
challenge (RFC 7636 §4.6), for a session of that client and its tokens."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from application.audit import AuditEvents
from application.caller import Caller
from application.ports.metrics import SecurityMetrics
from application.ports.persistence import UnitOfWork, UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token
from application.sessions import OAuthSessionTerms, new_session
from application.tokens import TokenLifetimes
from application.use_cases.oidc.client_authentication import (
    ClientCredentials,
    authenticate_client,
)
from application.use_cases.oidc.token_errors import invalid_grant, invalid_request
from application.use_cases.oidc.token_response import OAuthTokenIssuer, OAuthTokenResponse
from application.webhook_events import revoke_and_report
from domain.audit_event import AuditEventType
from domain.authorization_code import AuthorizationCode
from domain.oauth_client import OAuthClient
from domain.session import SessionKind
from domain.session_scope import SessionScope
from domain.user import User

log = logging.getLogger(__name__)

UNUSABLE_CODE = "the code is invalid, expired or was already used"


class CodeExchange:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        lifetimes: TokenLifetimes,
        issuer: OAuthTokenIssuer,
        audit: AuditEvents,
        metrics: SecurityMetrics,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._lifetimes = lifetimes
        self._issuer = issuer
        self._audit = audit
        self._metrics = metrics

    async def exchange(
        self,
        credentials: ClientCredentials | None,
        parameters: Mapping[str, str],
        caller: Caller,
    ) -> OAuthTokenResponse:
        code_text = parameters.get("code")
        redirect_uri = parameters.get("redirect_uri")
        if code_text is None or redirect_uri is None:
            raise invalid_request("code and redirect_uri are required")
        code_hash = hash_secret_token(code_text)
        now = self._clock.now()
        async with self._uow() as uow:
            client = await authenticate_client(uow, credentials)
            code = await uow.oauth_codes.redeem(code_hash, now)
            if code is None:
                await self._revoke_what_it_opened(uow, code_hash, caller, now)
                raise invalid_grant(UNUSABLE_CODE)
            user = await uow.users.get(code.user_id)
            problem = await _problem(uow, code, client, user, parameters, now)
            if problem is not None or user is None:
                # Spent all the same: a code someone failed to trade is not tried again.
                await uow.commit()
                raise invalid_grant(problem or UNUSABLE_CODE)
            session, refresh_token = new_session(
                self._ids,
                self._lifetimes,
                user.id,
                caller,
                code.amr,
                now,
                SessionKind.OAUTH,
                oauth=OAuthSessionTerms(
                    client_id=client.client_id,
                    scopes=code.scopes,
                    parent_session_id=(
                        None if code.grants_offline_access else code.browser_session_id
                    ),
                    auth_time=code.auth_time,
                ),
            )
            await uow.sessions.add(session)
            await uow.oauth_codes.record_issued_session(code.id, session.id)
            await uow.commit()
        return await self._issuer.issue(
            client=client,
            user=user,
            session=session,
            scopes=code.scopes,
            nonce=code.nonce,
            refresh_token=refresh_token if code.grants_offline_access else None,
            now=now,
        )

    async def _revoke_what_it_opened(
        self, uow: UnitOfWork, code_hash: str, caller: Caller, now: datetime
    ) -> None:
        """A code presented again was copied (RFC 6749 §10.5): whatever its first exchange
        opened is revoked, every token of it with it, and the replay is audited and counted."""
        spent = await uow.oauth_codes.find_spent(code_hash)
        if spent is None:
            return
        if spent.issued_session_id is not None:
            await revoke_and_report(
                uow, SessionScope.one(spent.user_id, spent.issued_session_id), self._ids, now
            )
        await uow.audit.record(
            self._audit.event(
                AuditEventType.AUTHORIZATION_CODE_REUSED,
                caller,
                user_id=spent.user_id,
                actor_id=None,
                client_id=spent.client_id,
                session_id=None
                if spent.issued_session_id is None
                else str(spent.issued_session_id),
            )
        )
        await uow.commit()
        log.warning(
            "authorization_code_reused",
            extra={"client_id": spent.client_id, "user_id": str(spent.user_id)},
        )
        self._metrics.authorization_code_reused()


async def _problem(
    uow: UnitOfWork,
    code: AuthorizationCode,
    client: OAuthClient,
    user: User | None,
    parameters: Mapping[str, str],
    now: datetime,
) -> str | None:
    if not code.is_bound_to(client.client_id, parameters["redirect_uri"]):
        return "the code was not issued to this client and redirect_uri"
    if not code.accepts_verifier(parameters.get("code_verifier")):
        if code.code_challenge is None:
            return "code_verifier was sent for a code issued without a code_challenge"
        return "code_verifier is missing or does not match the code_challenge"
    if user is None or not user.is_active:
        return "the account is deactivated"
    if not code.grants_offline_access and not await _browser_session_usable(
        uow, code.user_id, code.browser_session_id, now
    ):
        return "the sign-in this code came from has ended"
    return None


async def _browser_session_usable(
    uow: UnitOfWork, user_id: UUID, session_id: UUID, now: datetime
) -> bool:
    usable = await uow.sessions.list_usable_of_user(user_id, now)
    return any(s.id == session_id and s.kind is SessionKind.BROWSER for s in usable)

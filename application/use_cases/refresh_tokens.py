from __future__ import annotations

import logging
from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import InvalidRefreshToken, RefreshTokenReused
from application.ports.metrics import SecurityMetrics
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import AccessTokens
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token, new_secret_token
from application.tokens import TokenLifetimes, TokenPair, issue_token_pair
from application.webhook_events import revoke_and_report
from domain.audit_event import AuditEventType
from domain.session_scope import SessionScope

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RefreshTokensCommand:
    refresh_token: str
    caller: Caller = NO_CALLER


class RefreshTokens:
    """Trade a refresh token for a new pair. Each token works once: presenting one that was
    already traded means it was copied, so the whole session is revoked."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        tokens: AccessTokens,
        clock: Clock,
        ids: IdGenerator,
        lifetimes: TokenLifetimes,
        audit: AuditEvents,
        metrics: SecurityMetrics,
    ) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock
        self._ids = ids
        self._lifetimes = lifetimes
        self._audit = audit
        self._metrics = metrics

    async def execute(self, command: RefreshTokensCommand) -> TokenPair:
        presented = hash_secret_token(command.refresh_token)
        refresh_token = new_secret_token()
        now = self._clock.now()
        async with self._uow() as uow:
            # One conditional UPDATE: of fifty concurrent refreshes, one matches.
            session = await uow.sessions.rotate_refresh_token(
                presented, hash_secret_token(refresh_token), now
            )
            user = await uow.users.get(session.user_id) if session else None
            if session is not None and user is not None and user.is_active:
                await uow.commit()
                return await issue_token_pair(
                    tokens=self._tokens,
                    ids=self._ids,
                    lifetimes=self._lifetimes,
                    user=user,
                    session=session,
                    refresh_token=refresh_token,
                    now=now,
                )
        async with self._uow() as uow:
            stolen_from = await uow.sessions.find_by_rotated_token(presented)
            if stolen_from is None:
                raise InvalidRefreshToken()
            await revoke_and_report(
                uow, SessionScope.one(stolen_from.user_id, stolen_from.id), self._ids, now
            )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.REFRESH_TOKEN_REUSED,
                    command.caller,
                    user_id=stolen_from.user_id,
                    actor_id=None,
                    session_id=str(stolen_from.id),
                )
            )
            await uow.commit()
        log.warning(
            "refresh_token_reused",
            extra={"session_id": str(stolen_from.id), "user_id": str(stolen_from.user_id)},
        )
        self._metrics.refresh_token_reused()
        raise RefreshTokenReused()

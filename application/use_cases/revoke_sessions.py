from __future__ import annotations

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock
from domain.audit_event import AuditEvent, AuditEventType
from domain.session_scope import SessionScope


class RevokeSessions:
    """End the caller's sessions in a scope: logout (the current one), "log out everywhere"."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: AuditEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit

    async def execute(self, scope: SessionScope, caller: Caller = NO_CALLER) -> int:
        async with self._uow() as uow:
            revoked = await uow.sessions.revoke(scope, self._clock.now())
            if revoked:
                await uow.audit.record(self._event(scope, caller, revoked))
            await uow.commit()
        return revoked

    def _event(self, scope: SessionScope, caller: Caller, revoked: int) -> AuditEvent:
        user = scope.user_id
        if scope.only is not None:
            return self._audit.event(
                AuditEventType.LOGGED_OUT,
                caller,
                user_id=user,
                actor_id=user,
                session_id=str(scope.only),
            )
        return self._audit.event(
            AuditEventType.SESSIONS_REVOKED, caller, user_id=user, actor_id=user, count=revoked
        )


class RevokeOwnSession:
    """End one session picked from the caller's list. Someone else's session, an unknown one
    and one already ended all get the same NotFound, so ids cannot be probed."""

    def __init__(self, revoke: RevokeSessions) -> None:
        self._revoke = revoke

    async def execute(self, scope: SessionScope, caller: Caller = NO_CALLER) -> None:
        if scope.only is None:
            raise ValueError("RevokeOwnSession needs a scope of one session")
        if await self._revoke.execute(scope, caller) == 0:
            raise NotFound("session")

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.webhook_events import revoke_and_report
from domain.audit_event import AuditEvent, AuditEventType
from domain.session_scope import SessionScope


@dataclass(frozen=True, slots=True)
class RevokeSessionsCommand:
    """Logout ends the session making the request; `everywhere` ends every session of the
    account, that one included; `others` every session but that one."""

    principal: Principal
    everywhere: bool = False
    others: bool = False
    caller: Caller = NO_CALLER


@dataclass(frozen=True, slots=True)
class RevokeOwnSessionCommand:
    principal: Principal
    session_id: UUID
    caller: Caller = NO_CALLER


class RevokeSessions:
    """End the caller's sessions: logout (the current one), "log out everywhere", "sign out
    my other devices"."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, audit: AuditEvents
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: RevokeSessionsCommand) -> int:
        user_id = command.principal.user.id
        if command.everywhere:
            scope = SessionScope.everything(user_id)
        elif command.others:
            scope = SessionScope.others(user_id, command.principal.session_id)
        else:
            scope = SessionScope.one(user_id, command.principal.session_id)
        return await _revoke(self._uow, self._clock, self._ids, self._audit, scope, command.caller)


class RevokeOwnSession:
    """End one session picked from the caller's list. Someone else's session, an unknown one
    and one already ended all get the same NotFound, so ids cannot be probed."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, audit: AuditEvents
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: RevokeOwnSessionCommand) -> None:
        scope = SessionScope.one(command.principal.user.id, command.session_id)
        revoked = await _revoke(
            self._uow, self._clock, self._ids, self._audit, scope, command.caller
        )
        if revoked == 0:
            raise NotFound("session")


async def _revoke(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    ids: IdGenerator,
    audit: AuditEvents,
    scope: SessionScope,
    caller: Caller,
) -> int:
    """Revoke what the scope includes and, if anything was, record it; returns how many."""
    async with uow_factory() as uow:
        revoked = await revoke_and_report(uow, scope, ids, clock.now())
        if revoked:
            await uow.audit.record(_event(audit, scope, caller, revoked))
        await uow.commit()
    return revoked


def _event(audit: AuditEvents, scope: SessionScope, caller: Caller, revoked: int) -> AuditEvent:
    user = scope.user_id
    if scope.only is not None:
        return audit.event(
            AuditEventType.LOGGED_OUT,
            caller,
            user_id=user,
            actor_id=user,
            session_id=str(scope.only),
        )
    return audit.event(
        AuditEventType.SESSIONS_REVOKED, caller, user_id=user, actor_id=user, count=revoked
    )

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.authorization import require_admin
from application.caller import NO_CALLER, Caller, Principal
from application.errors import MfaNotEnabled, NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.security_notices import SecurityNotice, send_security_notice
from application.webhook_events import record_user_event, revoke_and_report
from domain.audit_event import AuditEventType
from domain.session_scope import SessionScope
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class ResetMfaCommand:
    principal: Principal
    user_id: UUID
    caller: Caller = NO_CALLER


class ResetMfa:
    """An admin turns off someone's TOTP and recovery codes (a lost phone); every session of
    theirs ends, so the next login is by password alone and can set up TOTP again."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, audit: AuditEvents
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: ResetMfaCommand) -> None:
        actor = command.principal.user
        require_admin(actor)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(command.user_id)
            if user is None:
                raise NotFound("user")
            if not user.mfa_enabled:
                raise MfaNotEnabled()
            user.turn_mfa_off(now)
            await uow.users.save(user)
            await record_user_event(uow, WebhookEventType.USER_UPDATED, user, self._ids, now)
            await uow.totp.delete(user.id)
            await uow.recovery_codes.delete_all(user.id)
            revoked = await revoke_and_report(uow, SessionScope.everything(user.id), self._ids, now)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.TOTP_DISABLED,
                    command.caller,
                    user_id=user.id,
                    actor_id=actor.id,
                    by_admin=True,
                    sessions_revoked=revoked,
                )
            )
            await send_security_notice(
                uow,
                ids=self._ids,
                to=user.email,
                kind=SecurityNotice.TOTP_DISABLED,
                now=now,
                by_admin=True,
            )
            await uow.commit()

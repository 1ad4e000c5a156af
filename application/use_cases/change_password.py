from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import InvalidAccessToken, InvalidCurrentPassword
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import PasswordHasher
from application.ports.system import Clock, IdGenerator
from application.security_notices import SecurityNotice, send_security_notice
from application.webhook_events import record_user_event, revoke_and_report
from domain.audit_event import AuditEventType
from domain.password import PasswordPolicy
from domain.session_scope import SessionScope
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class ChangePasswordCommand:
    principal: Principal
    current_password: str
    new_password: str
    caller: Caller = NO_CALLER


class ChangePassword:
    """Replace the password after proving the current one; every other session is revoked."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: ChangePasswordCommand) -> None:
        user_id = command.principal.user.id
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise InvalidAccessToken()
        if not await self._hasher.verify(command.current_password, user.password_hash):
            raise InvalidCurrentPassword()
        self._policy.check(command.new_password, user.email.value)
        new_hash = await self._hasher.hash(command.new_password)
        now = self._clock.now()
        async with self._uow() as uow:
            current = await uow.users.get(user_id)
            if current is None:
                raise InvalidAccessToken()
            if current.password_hash != user.password_hash:
                # Someone changed it while we were hashing: the proof we checked is stale.
                raise InvalidCurrentPassword()
            current.set_password_hash(new_hash, now)
            await uow.users.save(current)
            await record_user_event(
                uow, WebhookEventType.USER_PASSWORD_CHANGED, current, self._ids, now
            )
            revoked = await revoke_and_report(
                uow, SessionScope.others(current.id, command.principal.session_id), self._ids, now
            )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.PASSWORD_CHANGED,
                    command.caller,
                    user_id=current.id,
                    actor_id=current.id,
                    sessions_revoked=revoked,
                )
            )
            await send_security_notice(
                uow,
                ids=self._ids,
                to=current.email,
                kind=SecurityNotice.PASSWORD_CHANGED,
                now=now,
            )
            await uow.commit()

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import InvalidAccessToken, InvalidCurrentPassword
from application.last_admin import ensure_an_admin_remains, lock_admins
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import PasswordHasher
from application.ports.system import Clock, IdGenerator
from application.webhook_events import record_user_event
from domain.audit_event import AuditEventType
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class DeleteAccountCommand:
    principal: Principal
    password: str
    caller: Caller = NO_CALLER


class DeleteAccount:
    """A person deletes their own account; its sessions go with it and the email is free again.
    The last active admin cannot: someone must be left to run the service."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: DeleteAccountCommand) -> None:
        async with self._uow() as uow:
            user = await uow.users.get(command.principal.user.id)
        if user is None:
            raise InvalidAccessToken()
        if not await self._hasher.verify(command.password, user.password_hash):
            raise InvalidCurrentPassword()
        async with self._uow() as uow:
            admins_before = await lock_admins(uow)
            current = await uow.users.get(user.id)
            if current is None:
                raise InvalidAccessToken()
            if current.password_hash != user.password_hash:
                # The password changed while we were checking it: the proof we checked is stale.
                raise InvalidCurrentPassword()
            await uow.users.delete(user.id)
            await ensure_an_admin_remains(uow, admins_before)
            await record_user_event(
                uow, WebhookEventType.USER_DELETED, current, self._ids, self._clock.now()
            )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.DELETED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id,
                    email=user.email.value,
                )
            )
            await uow.commit()

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.authorization import require_admin
from application.caller import NO_CALLER, Caller, Principal
from application.errors import NotFound
from application.last_admin import ensure_an_admin_remains, lock_admins
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.webhook_events import record_user_event
from domain.audit_event import AuditEventType
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class DeleteUserCommand:
    principal: Principal
    user_id: UUID
    caller: Caller = NO_CALLER


class DeleteUser:
    """An admin deletes an account (its sessions go with it); never the last active admin."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, audit: AuditEvents
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: DeleteUserCommand) -> None:
        actor = command.principal.user
        require_admin(actor)
        async with self._uow() as uow:
            admins_before = await lock_admins(uow)
            user = await uow.users.get(command.user_id)
            if user is None:
                raise NotFound("user")
            await uow.users.delete(user.id)
            await ensure_an_admin_remains(uow, admins_before)
            await record_user_event(
                uow, WebhookEventType.USER_DELETED, user, self._ids, self._clock.now()
            )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.DELETED,
                    command.caller,
                    user_id=user.id,
                    actor_id=actor.id,
                    email=user.email.value,
                )
            )
            await uow.commit()

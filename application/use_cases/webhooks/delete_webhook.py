from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.use_cases.webhooks.common import WebhookManager, authorize, how
from domain.audit_event import AuditEventType


@dataclass(frozen=True, slots=True)
class DeleteWebhookCommand:
    by: WebhookManager
    webhook_id: UUID
    caller: Caller = NO_CALLER


class DeleteWebhook:
    """Unregister a webhook; its deliveries, pending or not, go with it."""

    def __init__(self, uow: UnitOfWorkFactory, audit: AuditEvents) -> None:
        self._uow = uow
        self._audit = audit

    async def execute(self, command: DeleteWebhookCommand) -> None:
        actor_id = authorize(command.by)
        async with self._uow() as uow:
            if not await uow.webhooks.delete(command.webhook_id):
                raise NotFound("webhook")
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.WEBHOOK_DELETED,
                    command.caller,
                    user_id=None,
                    actor_id=actor_id,
                    webhook_id=str(command.webhook_id),
                    **how(command.by),
                )
            )
            await uow.commit()

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock
from application.ports.webhooks import WebhookTargets
from application.unset import UNSET, Unset
from application.use_cases.webhooks.common import (
    WebhookManager,
    authorize,
    how,
    valid_description,
    valid_events,
    valid_url,
)
from domain.audit_event import AuditEventType
from domain.webhook import Webhook

EDITABLE_FIELDS = ("url", "events", "description")


@dataclass(frozen=True, slots=True)
class UpdateWebhookCommand:
    """Only the fields given change; a description of None removes it."""

    by: WebhookManager
    webhook_id: UUID
    url: str | Unset = UNSET
    events: tuple[str, ...] | Unset = UNSET
    description: str | Unset | None = UNSET
    caller: Caller = NO_CALLER


class UpdateWebhook:
    """A change that changes nothing (the values it already has) is not written or recorded.
    A url given is checked again, even the one it has: where its host resolves may have
    changed."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        audit: AuditEvents,
        targets: WebhookTargets,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit
        self._targets = targets

    async def execute(self, command: UpdateWebhookCommand) -> Webhook:
        actor_id = authorize(command.by)
        url = UNSET if command.url is UNSET else valid_url(command.url)
        events = UNSET if command.events is UNSET else valid_events(command.events)
        description = command.description
        if description is not UNSET:
            description = valid_description(description)
        # Resolving a name takes a while: not with a transaction open.
        if url is not UNSET:
            await self._targets.check(url)
        async with self._uow() as uow:
            webhook = await uow.webhooks.get(command.webhook_id)
            if webhook is None:
                raise NotFound("webhook")
            before = {name: getattr(webhook, name) for name in EDITABLE_FIELDS}
            if url is not UNSET:
                webhook.url = url
            if events is not UNSET:
                webhook.events = events
            if description is not UNSET:
                webhook.description = description
            changed = [name for name in EDITABLE_FIELDS if getattr(webhook, name) != before[name]]
            if not changed:
                return webhook
            webhook.updated_at = self._clock.now()
            await uow.webhooks.save(webhook)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.WEBHOOK_CHANGED,
                    command.caller,
                    user_id=None,
                    actor_id=actor_id,
                    webhook_id=str(webhook.id),
                    fields=changed,
                    **how(command.by),
                )
            )
            await uow.commit()
        return webhook

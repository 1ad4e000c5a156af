from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.use_cases.webhooks.common import WebhookManager, authorize
from domain.webhook import WebhookEvent, WebhookEventType


@dataclass(frozen=True, slots=True)
class SendTestEventCommand:
    by: WebhookManager
    webhook_id: UUID


class SendTestEvent:
    """Queue a `webhook.test` event, whose data is {webhook_id}, to this one webhook (never to
    the others, even those subscribed to every type); returns it. The dispatcher sends it as it
    sends any other."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    async def execute(self, command: SendTestEventCommand) -> WebhookEvent:
        authorize(command.by)
        event = WebhookEvent(
            id=WebhookEvent.id_from(self._ids.new_id()),
            type=WebhookEventType.WEBHOOK_TEST,
            user_id=None,
            data={"webhook_id": str(command.webhook_id)},
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            webhook = await uow.webhooks.get(command.webhook_id)
            if webhook is None:
                raise NotFound("webhook")
            await uow.webhook_events.record(event, to=webhook.id)
            await uow.commit()
        return event

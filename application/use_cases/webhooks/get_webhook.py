from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.use_cases.webhooks.common import WebhookManager, authorize
from domain.webhook import Webhook


@dataclass(frozen=True, slots=True)
class GetWebhookQuery:
    by: WebhookManager
    webhook_id: UUID


class GetWebhook:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: GetWebhookQuery) -> Webhook:
        authorize(query.by)
        async with self._uow() as uow:
            webhook = await uow.webhooks.get(query.webhook_id)
        if webhook is None:
            raise NotFound("webhook")
        return webhook

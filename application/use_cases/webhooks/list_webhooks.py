from __future__ import annotations

from dataclasses import dataclass

from application.ports.persistence import UnitOfWorkFactory
from application.use_cases.webhooks.common import WebhookManager, authorize
from domain.webhook import Webhook


@dataclass(frozen=True, slots=True)
class ListWebhooksQuery:
    by: WebhookManager


class ListWebhooks:
    """Every registered webhook, oldest first."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListWebhooksQuery) -> list[Webhook]:
        authorize(query.by)
        async with self._uow() as uow:
            return await uow.webhooks.list()

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.errors import NotFound
from application.pagination import Page, Position, decode_cursor, encode_cursor
from application.ports.persistence import UnitOfWorkFactory
from application.use_cases.webhooks.common import WebhookManager, authorize
from domain.webhook import WebhookDelivery


@dataclass(frozen=True, slots=True)
class ListDeliveriesQuery:
    by: WebhookManager
    webhook_id: UUID
    limit: int
    cursor: str | None = None


class ListDeliveries:
    """A webhook's deliveries, newest first: one per event sent to it."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListDeliveriesQuery) -> Page[WebhookDelivery]:
        authorize(query.by)
        before = decode_cursor(query.cursor)
        async with self._uow() as uow:
            if await uow.webhooks.get(query.webhook_id) is None:
                raise NotFound("webhook")
            deliveries = await uow.webhook_deliveries.list_of_webhook(
                query.webhook_id, before=before, limit=query.limit + 1
            )
        items = deliveries[: query.limit]
        next_cursor = None
        if len(deliveries) > query.limit:
            last = items[-1]
            next_cursor = encode_cursor(Position(created_at=last.created_at, id=last.id))
        return Page(items=items, next_cursor=next_cursor)

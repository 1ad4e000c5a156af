"""Webhook endpoints (their secrets sealed), the events told to them, and the queue of
deliveries that dispatchers claim. Deleting an endpoint deletes its deliveries: their foreign
key does it (ON DELETE CASCADE)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, exists, insert, or_, select, tuple_, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.secret_contexts import webhook_context
from adapters.persistence.tables import webhook_deliveries as deliveries
from adapters.persistence.tables import webhook_events, webhooks
from application.pagination import Position
from application.ports.security import SecretSealer
from domain.webhook import (
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventType,
)

PENDING = DeliveryStatus.PENDING.value


class SqlAlchemyWebhookRepository:
    """The secret is stored sealed when encryption keys are set, bound to its endpoint."""

    def __init__(self, connection: AsyncConnection, sealer: SecretSealer) -> None:
        self._connection = connection
        self._sealer = sealer

    async def add(self, webhook: Webhook) -> None:
        await self._connection.execute(
            insert(webhooks).values(
                id=webhook.id, created_at=webhook.created_at, **self._editable(webhook)
            )
        )

    async def get(self, webhook_id: UUID) -> Webhook | None:
        row = (
            await self._connection.execute(select(webhooks).where(webhooks.c.id == webhook_id))
        ).first()
        return self._webhook(row) if row else None

    async def list(self) -> list[Webhook]:
        statement = select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id)
        return [self._webhook(row) for row in await self._connection.execute(statement)]

    async def save(self, webhook: Webhook) -> None:
        await self._connection.execute(
            update(webhooks).where(webhooks.c.id == webhook.id).values(**self._editable(webhook))
        )

    async def delete(self, webhook_id: UUID) -> bool:
        result = await self._connection.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
        return result.rowcount == 1

    def _editable(self, webhook: Webhook) -> dict[str, Any]:
        return {
            "url": webhook.url,
            "events": sorted(webhook.events),
            "description": webhook.description,
            "secret": self._sealer.seal(webhook.secret, webhook_context(webhook.id)),
            "updated_at": webhook.updated_at,
        }

    def _webhook(self, row: Row[Any]) -> Webhook:
        return Webhook(
            id=row.id,
            url=row.url,
            events=frozenset(row.events),
            description=row.description,
            secret=self._sealer.open(row.secret, webhook_context(row.id)),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class SqlAlchemyWebhookEventLog:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def record(self, event: WebhookEvent, *, to: UUID | None = None) -> list[WebhookDelivery]:
        await self._connection.execute(
            insert(webhook_events).values(
                id=event.id,
                type=event.type.value,
                user_id=event.user_id,
                payload=event.data,
                created_at=event.created_at,
            )
        )
        query = select(webhooks.c.id, webhooks.c.events)
        if to is not None:
            query = query.where(webhooks.c.id == to)
        endpoints = await self._connection.execute(
            query.order_by(webhooks.c.created_at, webhooks.c.id)
        )
        fanned_out = [
            WebhookDelivery(
                # A row's key, never shown to an endpoint (which sees the event's id).
                id=uuid.uuid4(),
                webhook_id=webhook_id,
                event_id=event.id,
                user_id=event.user_id,
                type=event.type,
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=event.created_at,
                last_response_status=None,
                created_at=event.created_at,
            )
            for webhook_id, events in endpoints
            if to is not None or "*" in events or event.type.value in events
        ]
        if fanned_out:
            await self._connection.execute(
                insert(deliveries),
                [
                    {
                        "id": d.id,
                        "webhook_id": d.webhook_id,
                        "event_id": d.event_id,
                        "user_id": d.user_id,
                        "type": d.type.value,
                        "status": d.status.value,
                        "attempts": d.attempts,
                        "next_attempt_at": d.next_attempt_at,
                        "created_at": d.created_at,
                    }
                    for d in fanned_out
                ],
            )
        return fanned_out


class SqlAlchemyDeliveryQueue:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int
    ) -> list[WebhookDelivery]:
        earlier = deliveries.alias("earlier")
        an_earlier_one_pending = exists().where(
            earlier.c.webhook_id == deliveries.c.webhook_id,
            earlier.c.user_id == deliveries.c.user_id,
            earlier.c.status == PENDING,
            earlier.c.seq < deliveries.c.seq,
        )
        claimable = (
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
            or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
            or_(deliveries.c.user_id.is_(None), ~an_earlier_one_pending),
        )
        due = (
            select(deliveries.c.seq)
            .where(*claimable)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.seq)
            .limit(limit)
            # PostgreSQL: concurrent dispatchers skip each other's rows instead of queueing.
            # SQLite has one writer at a time and ignores this.
            .with_for_update(skip_locked=True, of=deliveries)
        )
        # Two statements, as the mail outbox's claim and for its reason: a subquery inside the
        # UPDATE may be run again for every row, locking the next rows each time.
        due_seqs = list((await self._connection.execute(due)).scalars())
        if not due_seqs:
            return []
        # The conditions again on the UPDATE, so that a row another dispatcher claimed
        # meanwhile is re-checked and left alone.
        await self._connection.execute(
            update(deliveries)
            .where(deliveries.c.seq.in_(due_seqs), *claimable)
            .values(claimed_by=worker, claimed_until=now + lease)
        )
        claimed = (
            select(deliveries)
            .where(
                deliveries.c.seq.in_(due_seqs),
                deliveries.c.claimed_by == worker,
                deliveries.c.claimed_until == now + lease,
            )
            .order_by(deliveries.c.next_attempt_at, deliveries.c.seq)
        )
        return [_delivery(row) for row in await self._connection.execute(claimed)]

    async def delivered(
        self, delivery_id: UUID, worker: str, status_code: int, now: datetime
    ) -> bool:
        return await self._settle(
            delivery_id,
            worker,
            status=DeliveryStatus.DELIVERED.value,
            last_response_status=status_code,
            finished_at=now,
        )

    async def retry(
        self, delivery_id: UUID, worker: str, status_code: int | None, next_attempt_at: datetime
    ) -> bool:
        return await self._settle(
            delivery_id, worker, last_response_status=status_code, next_attempt_at=next_attempt_at
        )

    async def failed(
        self, delivery_id: UUID, worker: str, status_code: int | None, now: datetime
    ) -> bool:
        return await self._settle(
            delivery_id,
            worker,
            status=DeliveryStatus.FAILED.value,
            last_response_status=status_code,
            finished_at=now,
        )

    async def _settle(self, delivery_id: UUID, worker: str, **values: Any) -> bool:
        result = await self._connection.execute(
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id,
                deliveries.c.claimed_by == worker,
                deliveries.c.status == PENDING,
            )
            .values(
                attempts=deliveries.c.attempts + 1, claimed_by=None, claimed_until=None, **values
            )
        )
        return result.rowcount == 1

    async def list_of_webhook(
        self, webhook_id: UUID, *, before: Position | None, limit: int
    ) -> list[WebhookDelivery]:
        statement = select(deliveries).where(deliveries.c.webhook_id == webhook_id)
        if before is not None:
            statement = statement.where(
                tuple_(deliveries.c.created_at, deliveries.c.id) < (before.created_at, before.id)
            )
        statement = statement.order_by(
            deliveries.c.created_at.desc(), deliveries.c.id.desc()
        ).limit(limit)
        return [_delivery(row) for row in await self._connection.execute(statement)]


def _delivery(row: Row[Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        user_id=row.user_id,
        type=WebhookEventType(row.type),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_response_status=row.last_response_status,
        created_at=row.created_at,
    )

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.tables import outbox_messages as outbox
from application.outbox import OutboxMessage
from application.ports.mail import MailMessage


def _message_from_row(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        message=MailMessage(
            to=row.recipient, subject=row.subject, text=row.text_body, html=row.html_body
        ),
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
        sent_at=row.sent_at,
        failed_at=row.failed_at,
        last_error=row.last_error,
    )


class SqlAlchemyOutbox:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, message: OutboxMessage) -> None:
        await self._connection.execute(
            insert(outbox).values(
                id=message.id,
                recipient=message.message.to,
                subject=message.message.subject,
                text_body=message.message.text,
                html_body=message.message.html,
                created_at=message.created_at,
                next_attempt_at=message.next_attempt_at,
                attempts=message.attempts,
            )
        )

    async def claim_due(
        self, now: datetime, *, claimant: str, lease: timedelta, limit: int
    ) -> list[OutboxMessage]:
        claimable = (
            outbox.c.sent_at.is_(None),
            outbox.c.failed_at.is_(None),
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
        )
        due = (
            select(outbox.c.id)
            .where(*claimable)
            .order_by(outbox.c.next_attempt_at)
            .limit(limit)
            # PostgreSQL: concurrent dispatchers skip each other's rows instead of queueing.
            # SQLite has one writer at a time and ignores this.
            .with_for_update(skip_locked=True)
        )
        # Two statements, not UPDATE … WHERE id IN (that SELECT): PostgreSQL may run such a
        # subquery again for every row it updates, each run locking the next `limit` rows, and
        # so claim every due message at once.
        due_ids = list((await self._connection.execute(due)).scalars())
        if not due_ids:
            return []
        # The conditions are repeated on the UPDATE itself so that a row another dispatcher
        # claimed in the meantime is re-checked and left alone.
        await self._connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(due_ids), *claimable)
            .values(claimed_by=claimant, claimed_until=now + lease)
        )
        claimed = (
            select(outbox).where(outbox.c.claimed_by == claimant).order_by(outbox.c.next_attempt_at)
        )
        return [_message_from_row(row) for row in await self._connection.execute(claimed)]

    async def mark_sent(self, message_id: UUID, claimant: str, now: datetime) -> None:
        await self._connection.execute(
            update(outbox)
            .where(outbox.c.id == message_id, outbox.c.claimed_by == claimant)
            .values(
                sent_at=now,
                attempts=outbox.c.attempts + 1,
                claimed_by=None,
                claimed_until=None,
            )
        )

    async def mark_failed(
        self,
        message_id: UUID,
        claimant: str,
        *,
        error: str,
        next_attempt_at: datetime,
        give_up_at: datetime | None,
    ) -> None:
        await self._connection.execute(
            update(outbox)
            .where(outbox.c.id == message_id, outbox.c.claimed_by == claimant)
            .values(
                attempts=outbox.c.attempts + 1,
                next_attempt_at=next_attempt_at,
                failed_at=give_up_at,
                last_error=error,
                claimed_by=None,
                claimed_until=None,
            )
        )

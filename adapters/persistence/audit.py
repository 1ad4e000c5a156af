from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.tables import audit_events
from application.pagination import Position
from domain.audit_event import AuditEvent, AuditEventType


def _event_from_row(row: Row[Any]) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        type=AuditEventType(row.type),
        created_at=row.created_at,
        user_id=row.user_id,
        actor_id=row.actor_id,
        ip=row.ip,
        user_agent=row.user_agent,
        data=row.data,
    )


class SqlAlchemyAuditLog:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def record(self, event: AuditEvent) -> None:
        await self._connection.execute(
            insert(audit_events).values(
                id=event.id,
                type=event.type.value,
                user_id=event.user_id,
                actor_id=event.actor_id,
                ip=event.ip,
                user_agent=event.user_agent,
                created_at=event.created_at,
                data=event.data,
            )
        )

    async def list_page(
        self,
        *,
        user_id: UUID | None,
        type: AuditEventType | None,
        before: Position | None,
        limit: int,
    ) -> list[AuditEvent]:
        statement = select(audit_events)
        if user_id is not None:
            statement = statement.where(audit_events.c.user_id == user_id)
        if type is not None:
            statement = statement.where(audit_events.c.type == type.value)
        if before is not None:
            statement = statement.where(
                # A plain tuple: bound with the columns' types, as in the user list.
                tuple_(audit_events.c.created_at, audit_events.c.id)
                < (before.created_at, before.id)
            )
        statement = statement.order_by(
            audit_events.c.created_at.desc(), audit_events.c.id.desc()
        ).limit(limit)
        return [_event_from_row(row) for row in await self._connection.execute(statement)]

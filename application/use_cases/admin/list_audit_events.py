from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import require_admin
from application.caller import Principal
from application.pagination import Page, Position, decode_cursor, encode_cursor
from application.ports.persistence import UnitOfWorkFactory
from domain.audit_event import AuditEvent, AuditEventType


@dataclass(frozen=True, slots=True)
class ListAuditEventsQuery:
    principal: Principal
    limit: int
    user_id: UUID | None = None
    type: AuditEventType | None = None
    cursor: str | None = None


class ListAuditEvents:
    """ "Who did what, when": security events newest first, by account and by type."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListAuditEventsQuery) -> Page[AuditEvent]:
        require_admin(query.principal.user)
        before = decode_cursor(query.cursor)
        async with self._uow() as uow:
            events = await uow.audit.list_page(
                user_id=query.user_id, type=query.type, before=before, limit=query.limit + 1
            )
        items = events[: query.limit]
        next_cursor = None
        if len(events) > query.limit:
            last = items[-1]
            next_cursor = encode_cursor(Position(created_at=last.created_at, id=last.id))
        return Page(items=items, next_cursor=next_cursor)

"""Making audit events. Use cases record them through the unit of work, in the transaction of
the change they describe: no event without its change, no change without its event."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.caller import Caller
from application.ports.system import Clock, IdGenerator
from domain.audit_event import AuditEvent, AuditEventType


class AuditEvents:
    def __init__(self, clock: Clock, ids: IdGenerator) -> None:
        self._clock = clock
        self._ids = ids

    def event(
        self,
        type: AuditEventType,
        caller: Caller,
        *,
        user_id: UUID | None,
        actor_id: UUID | None,
        **data: Any,
    ) -> AuditEvent:
        return AuditEvent(
            id=self._ids.new_id(),
            type=type,
            created_at=self._clock.now(),
            user_id=user_id,
            actor_id=actor_id,
            ip=caller.ip,
            user_agent=caller.user_agent,
            data=data,
        )

"""The transactional outbox: mail is written in the same transaction as the change that
causes it, and a dispatcher delivers it later, with retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from application.ports.mail import MailMessage

MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)


@dataclass(slots=True)
class OutboxMessage:
    id: UUID
    message: MailMessage
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    last_error: str | None = None

    @classmethod
    def new(cls, id: UUID, message: MailMessage, now: datetime) -> OutboxMessage:
        return cls(id=id, message=message, created_at=now, next_attempt_at=now)


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … doubling, at most an hour."""
    return min(FIRST_RETRY * (1 << max(0, attempts - 1)), LONGEST_RETRY)

"""Webhooks: the endpoints an operator registers, the events Portcullis reports to them, one
delivery of an event to an endpoint, and how long a failing delivery is retried."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

ALL_EVENTS = "*"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
# After a failed attempt n (1-based), the next one comes RETRY_DELAYS[n - 1] later; past the
# end of the list, the last delay repeats.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
)
# An endpoint down for a day still gets what happened meanwhile; past this, it is given up.
RETRY_FOR = timedelta(hours=24)


class WebhookEventType(StrEnum):
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DELETED = "user.deleted"
    USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 (an event name)
    SESSION_REVOKED = "session.revoked"
    WEBHOOK_TEST = "webhook.test"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def format_secret(raw: bytes) -> str:
    """A signing secret as Standard Webhooks writes it: `whsec_` and the base64 of its bytes."""
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        raise ValueError(f"a secret is {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")
    return SECRET_PREFIX + base64.b64encode(raw).decode()


@dataclass(slots=True)
class Webhook:
    """`events` holds event type names, or just `*` for every type; `secret` is the signing
    secret in clear (the storage seals it)."""

    id: UUID
    url: str
    events: frozenset[str]
    description: str | None
    secret: str
    created_at: datetime
    updated_at: datetime

    def subscribes_to(self, type: str) -> bool:
        return ALL_EVENTS in self.events or type in self.events


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """Something that happened, as every subscribed endpoint is told. `id` is the message's
    `webhook-id`, the same on every retry and to every endpoint; the signature's content is
    `id.timestamp.payload`, so the id never holds a '.'. `user_id` is the account it is about:
    deliveries of one account's events to one endpoint go out in order."""

    id: str
    type: WebhookEventType
    user_id: UUID | None
    data: dict[str, Any]
    created_at: datetime

    def __post_init__(self) -> None:
        if not self.id or "." in self.id:
            raise ValueError("an event id is not empty and holds no '.'")

    @staticmethod
    def id_from(unique: UUID) -> str:
        return f"msg_{unique.hex}"


@dataclass(slots=True)
class WebhookDelivery:
    """One event on its way to one endpoint. `attempts` counts the attempts made;
    `last_response_status` is the HTTP status the endpoint last answered (None: no answer)."""

    id: UUID
    webhook_id: UUID
    event_id: str
    user_id: UUID | None
    type: WebhookEventType
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_response_status: int | None
    created_at: datetime


def retry_at(created_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """When to try again a delivery created at `created_at` whose attempt number `attempts`
    failed at `now`; None once it has been tried for RETRY_FOR: give it up."""
    if attempts < 1:
        raise ValueError("a retry follows at least one attempt")
    if now - created_at >= RETRY_FOR:
        return None
    return now + RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]

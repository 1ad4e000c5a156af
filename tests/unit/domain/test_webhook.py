from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.webhook import (
    RETRY_FOR,
    Webhook,
    WebhookEvent,
    WebhookEventType,
    format_secret,
    retry_at,
)

CREATED = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def a_webhook(events: frozenset[str]) -> Webhook:
    return Webhook(
        id=uuid4(),
        url="https://hooks.example.com/in",
        events=events,
        description=None,
        secret=format_secret(bytes(24)),
        created_at=CREATED,
        updated_at=CREATED,
    )


def test_the_first_retry_comes_within_a_minute() -> None:
    next_at = retry_at(CREATED, 1, CREATED)
    assert next_at is not None
    assert timedelta(0) < next_at - CREATED <= timedelta(seconds=60)


def test_delays_grow_then_stay_at_eight_hours() -> None:
    delays = []
    now = CREATED
    for attempts in range(1, 10):
        next_at = retry_at(CREATED, attempts, now)
        assert next_at is not None
        delays.append(next_at - now)
        now = next_at
    assert delays == sorted(delays)
    assert delays[-2:] == [timedelta(hours=8)] * 2


def test_a_delivery_is_retried_for_a_day_then_given_up() -> None:
    now, attempts = CREATED, 1
    while (next_at := retry_at(CREATED, attempts, now)) is not None:
        now, attempts = next_at, attempts + 1
    assert now - CREATED >= RETRY_FOR
    assert retry_at(CREATED, 3, CREATED + RETRY_FOR - timedelta(seconds=1)) is not None
    assert retry_at(CREATED, 3, CREATED + RETRY_FOR) is None


def test_a_retry_needs_an_attempt_first() -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        retry_at(CREATED, 0, CREATED)


def test_an_endpoint_subscribes_to_its_events_or_to_all() -> None:
    some = a_webhook(frozenset({"user.created"}))
    every = a_webhook(frozenset({"*"}))
    assert some.subscribes_to(WebhookEventType.USER_CREATED)
    assert not some.subscribes_to(WebhookEventType.USER_DELETED)
    assert every.subscribes_to(WebhookEventType.SESSION_REVOKED)


def test_an_event_id_never_holds_a_dot() -> None:
    event_id = WebhookEvent.id_from(uuid4())
    assert event_id.startswith("msg_")
    assert "." not in event_id
    with pytest.raises(ValueError, match="holds no"):
        WebhookEvent("msg.1", WebhookEventType.WEBHOOK_TEST, None, {}, CREATED)


@pytest.mark.parametrize("size", [24, 64])
def test_a_secret_is_whsec_and_base64_of_its_bytes(size: int) -> None:
    raw = bytes(range(size))
    secret = format_secret(raw)
    assert secret.startswith("whsec_")
    assert base64.b64decode(secret.removeprefix("whsec_")) == raw


@pytest.mark.parametrize("size", [23, 65])
def test_a_secret_too_short_or_too_long_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="24 to 64 bytes"):
        format_secret(bytes(size))

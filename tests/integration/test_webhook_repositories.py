"""Webhook endpoints, the events told to them and the delivery queue, on SQLite, PostgreSQL and
the fakes: an endpoint kept whole with its secret (sealed at rest), each event fanned out to the
endpoints that asked for it, dispatchers racing for deliveries, one account's deliveries in
order, leases that lapse, retries and give-ups, and an endpoint's deliveries listed newest
first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select

from adapters.persistence.database import Database
from adapters.persistence.tables import webhooks
from adapters.security.secret_sealer import key_id, make_secret_sealer, sealed_key_id
from application.pagination import Position
from application.ports.security import SecretUnreadable
from domain.webhook import DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent, WebhookEventType
from tests.integration.builders import NOW, a_webhook, a_webhook_event
from tests.integration.conftest import Persist, UowFactory, sql_only

LEASE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)
KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))


async def record(uow_factory: UowFactory, *events: WebhookEvent) -> list[WebhookDelivery]:
    fanned_out = []
    async with uow_factory() as uow:
        for event in events:
            fanned_out += await uow.webhook_events.record(event)
        await uow.commit()
    return fanned_out


async def claim(
    uow_factory: UowFactory,
    worker: str,
    now: datetime,
    *,
    limit: int = 10,
    lease: timedelta = LEASE,
) -> list[WebhookDelivery]:
    async with uow_factory() as uow:
        claimed = await uow.webhook_deliveries.claim(worker, now, lease, limit)
        await uow.commit()
    return claimed


async def claimed_ids(uow_factory: UowFactory, worker: str, now: datetime) -> list[UUID]:
    return [delivery.id for delivery in await claim(uow_factory, worker, now)]


async def delivered(
    uow_factory: UowFactory, delivery_id: UUID, worker: str, now: datetime, status: int = 204
) -> bool:
    async with uow_factory() as uow:
        done = await uow.webhook_deliveries.delivered(delivery_id, worker, status, now)
        await uow.commit()
    return done


async def retry(
    uow_factory: UowFactory,
    delivery_id: UUID,
    worker: str,
    next_attempt_at: datetime,
    status: int | None = 503,
) -> bool:
    async with uow_factory() as uow:
        done = await uow.webhook_deliveries.retry(delivery_id, worker, status, next_attempt_at)
        await uow.commit()
    return done


async def failed(
    uow_factory: UowFactory, delivery_id: UUID, worker: str, now: datetime, status: int | None
) -> bool:
    async with uow_factory() as uow:
        done = await uow.webhook_deliveries.failed(delivery_id, worker, status, now)
        await uow.commit()
    return done


async def deliveries_of(
    uow_factory: UowFactory, webhook: Webhook, *, before: Position | None = None, limit: int = 50
) -> list[WebhookDelivery]:
    async with uow_factory() as uow:
        return await uow.webhook_deliveries.list_of_webhook(webhook.id, before=before, limit=limit)


# --- endpoints ---------------------------------------------------------------------------------


async def test_a_webhook_comes_back_whole_with_its_secret(
    uow_factory: UowFactory, persist: Persist
) -> None:
    older = a_webhook(created_at=NOW - timedelta(days=3), description=None)
    webhook = a_webhook(events=frozenset({"user.created", "session.revoked"}))
    await persist(webhook, older)

    async with uow_factory() as uow:
        assert await uow.webhooks.get(webhook.id) == webhook
        assert await uow.webhooks.list() == [older, webhook]


async def test_a_saved_webhook_keeps_its_edits_and_a_deleted_one_is_gone(
    uow_factory: UowFactory, persist: Persist
) -> None:
    webhook = a_webhook()
    await persist(webhook)
    webhook.url = "https://crm.example.org/in"
    webhook.events = frozenset({"user.deleted"})
    webhook.description = "CRM, deletions only"
    webhook.secret = "whsec_" + "A" * 32
    webhook.updated_at = NOW

    async with uow_factory() as uow:
        await uow.webhooks.save(webhook)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.webhooks.get(webhook.id) == webhook
        assert await uow.webhooks.delete(webhook.id)
        assert not await uow.webhooks.delete(webhook.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.webhooks.get(webhook.id) is None


@pytest.fixture
async def sealed_database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, sealer=make_secret_sealer([KEY_A]))
    yield database
    await database.aclose()


@sql_only
async def test_a_webhook_secret_is_stored_sealed_to_its_endpoint(
    sealed_database: Database, database_url: str
) -> None:
    webhook = a_webhook()
    async with sealed_database.unit_of_work() as uow:
        await uow.webhooks.add(webhook)
        await uow.commit()

    async with sealed_database.engine.connect() as connection:
        stored = await connection.scalar(select(webhooks.c.secret))
    assert stored is not None
    assert sealed_key_id(stored) == key_id(KEY_A)
    assert webhook.secret.removeprefix("whsec_") not in stored
    async with sealed_database.unit_of_work() as uow:
        assert await uow.webhooks.get(webhook.id) == webhook
    other_keys = Database(database_url, sealer=make_secret_sealer([KEY_B]))
    try:
        async with other_keys.unit_of_work() as uow:
            with pytest.raises(SecretUnreadable):
                await uow.webhooks.get(webhook.id)
    finally:
        await other_keys.aclose()


# --- events and their fan-out ------------------------------------------------------------------


async def test_an_event_goes_to_the_endpoints_subscribed_to_its_type_or_to_all(
    uow_factory: UowFactory, persist: Persist
) -> None:
    creations = a_webhook(events=frozenset({"user.created", "user.deleted"}))
    everything = a_webhook(events=frozenset({"*"}))
    deletions = a_webhook(events=frozenset({"user.deleted"}))
    await persist(creations, everything, deletions)
    event = a_webhook_event(type=WebhookEventType.USER_CREATED)

    fanned_out = await record(uow_factory, event)

    assert {d.webhook_id for d in fanned_out} == {creations.id, everything.id}
    for webhook in (creations, everything):
        [delivery] = await deliveries_of(uow_factory, webhook)
        assert (delivery.event_id, delivery.type, delivery.user_id) == (
            event.id,
            WebhookEventType.USER_CREATED,
            event.user_id,
        )
        assert (delivery.status, delivery.attempts, delivery.last_response_status) == (
            DeliveryStatus.PENDING,
            0,
            None,
        )
        assert (delivery.next_attempt_at, delivery.created_at) == (event.created_at, NOW)
    assert await deliveries_of(uow_factory, deletions) == []


async def test_an_event_told_to_one_endpoint_goes_to_it_alone_whatever_it_subscribes_to(
    uow_factory: UowFactory, persist: Persist
) -> None:
    tested = a_webhook(events=frozenset({"user.created"}))
    everything = a_webhook(events=frozenset({"*"}))
    await persist(tested, everything)
    event = a_webhook_event(type=WebhookEventType.WEBHOOK_TEST, user_id=None)

    async with uow_factory() as uow:
        fanned_out = await uow.webhook_events.record(event, to=tested.id)
        nowhere = await uow.webhook_events.record(
            a_webhook_event(type=WebhookEventType.WEBHOOK_TEST, user_id=None), to=UUID(int=7)
        )
        await uow.commit()

    assert [d.webhook_id for d in fanned_out] == [tested.id]
    assert nowhere == []
    [delivery] = await deliveries_of(uow_factory, tested)
    assert (delivery.event_id, delivery.type) == (event.id, WebhookEventType.WEBHOOK_TEST)
    assert await deliveries_of(uow_factory, everything) == []


async def test_an_event_not_committed_delivers_nothing(
    uow_factory: UowFactory, persist: Persist
) -> None:
    await persist(a_webhook())
    async with uow_factory() as uow:
        assert len(await uow.webhook_events.record(a_webhook_event())) == 1
    assert await claim(uow_factory, "w", NOW) == []


# --- claiming ----------------------------------------------------------------------------------


async def test_a_due_delivery_comes_back_whole_when_claimed(
    uow_factory: UowFactory, persist: Persist
) -> None:
    await persist(a_webhook())
    [delivery] = await record(uow_factory, a_webhook_event())

    assert await claim(uow_factory, "w", NOW - TICK) == []
    assert await claim(uow_factory, "w", NOW) == [delivery]


async def test_two_racing_dispatchers_claim_disjoint_deliveries(
    uow_factory: UowFactory, persist: Persist
) -> None:
    await persist(a_webhook(), a_webhook())
    fanned_out = await record(uow_factory, *(a_webhook_event() for _ in range(6)))
    assert len(fanned_out) == 12

    first, second = await asyncio.gather(
        claim(uow_factory, "a", NOW, limit=8), claim(uow_factory, "b", NOW, limit=8)
    )
    # A dispatcher that lost the race for a row may come back empty this round (SQLite's
    # writers queue): what it missed is claimed by the next round, never twice.
    rest = await claim(uow_factory, "c", NOW, limit=12)

    rounds = [{d.id for d in claimed} for claimed in (first, second, rest)]
    assert sum(len(ids) for ids in rounds) == len(set().union(*rounds))
    assert set().union(*rounds) == {d.id for d in fanned_out}
    assert first or second


async def test_one_accounts_deliveries_to_one_endpoint_go_one_at_a_time_in_order(
    uow_factory: UowFactory, persist: Persist
) -> None:
    await persist(a_webhook())
    ada, grace = a_webhook_event(), a_webhook_event()
    later_of_ada = a_webhook_event(user_id=ada.user_id, type=WebhookEventType.USER_DELETED)
    [first, other, second] = await record(uow_factory, ada, grace, later_of_ada)

    assert await claimed_ids(uow_factory, "w", NOW) == [first.id, other.id]
    # Even once the lease lapses, the earlier one is what is claimed again.
    assert await claimed_ids(uow_factory, "w2", NOW + LEASE + TICK) == [first.id, other.id]
    assert await delivered(uow_factory, other.id, "w2", NOW + LEASE + TICK)

    assert await retry(uow_factory, first.id, "w2", NOW + timedelta(minutes=5))
    # Waiting for its retry, the first still holds back the second.
    assert await claimed_ids(uow_factory, "w3", NOW + timedelta(minutes=4)) == []
    assert await claimed_ids(uow_factory, "w3", NOW + timedelta(minutes=5)) == [first.id]
    assert await delivered(uow_factory, first.id, "w3", NOW + timedelta(minutes=5))
    assert await claimed_ids(uow_factory, "w3", NOW + timedelta(minutes=5)) == [second.id]


async def test_one_accounts_order_is_per_endpoint(
    uow_factory: UowFactory, persist: Persist
) -> None:
    slow, fast = a_webhook(), a_webhook(created_at=NOW)
    await persist(slow, fast)
    ada = a_webhook_event()
    first_slow, first_fast = await record(uow_factory, ada)
    _, second_fast = await record(uow_factory, a_webhook_event(user_id=ada.user_id))
    assert await claimed_ids(uow_factory, "w", NOW) == [first_slow.id, first_fast.id]
    assert await delivered(uow_factory, first_fast.id, "w", NOW)

    assert await claimed_ids(uow_factory, "w", NOW) == [second_fast.id]


async def test_events_of_no_account_are_not_ordered(
    uow_factory: UowFactory, persist: Persist
) -> None:
    await persist(a_webhook())
    pings = [a_webhook_event(type=WebhookEventType.WEBHOOK_TEST, user_id=None) for _ in range(2)]
    fanned_out = await record(uow_factory, *pings)

    assert await claimed_ids(uow_factory, "w", NOW) == [d.id for d in fanned_out]


async def test_a_claimed_delivery_is_claimed_by_no_one_else_until_its_lease_lapses(
    uow_factory: UowFactory, persist: Persist
) -> None:
    await persist(a_webhook())
    [delivery] = await record(uow_factory, a_webhook_event())
    assert await claimed_ids(uow_factory, "slow", NOW) == [delivery.id]

    assert await claim(uow_factory, "fresh", NOW + LEASE - TICK) == []
    assert await claim(uow_factory, "fresh", NOW + LEASE) == []
    assert await claimed_ids(uow_factory, "fresh", NOW + LEASE + TICK) == [delivery.id]
    # The late worker's word no longer counts; the new holder's does.
    assert not await delivered(uow_factory, delivery.id, "slow", NOW + LEASE + TICK)
    assert await delivered(uow_factory, delivery.id, "fresh", NOW + LEASE + TICK)
    assert not await delivered(uow_factory, delivery.id, "fresh", NOW + LEASE + TICK)


# --- settling ----------------------------------------------------------------------------------


async def test_a_retry_counts_the_attempt_and_waits_until_its_time(
    uow_factory: UowFactory, persist: Persist
) -> None:
    webhook = a_webhook()
    await persist(webhook)
    [delivery] = await record(uow_factory, a_webhook_event())
    await claim(uow_factory, "w", NOW)
    then = NOW + timedelta(seconds=30)

    assert await retry(uow_factory, delivery.id, "w", then, status=None)
    [stored] = await deliveries_of(uow_factory, webhook)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == (
        DeliveryStatus.PENDING,
        1,
        then,
    )
    assert stored.last_response_status is None
    assert await claim(uow_factory, "w", then - TICK) == []
    assert await claimed_ids(uow_factory, "w", then) == [delivery.id]
    assert await retry(uow_factory, delivery.id, "w", then + timedelta(minutes=2), status=500)
    [stored] = await deliveries_of(uow_factory, webhook)
    assert (stored.attempts, stored.last_response_status) == (2, 500)


async def test_a_delivered_delivery_is_never_claimed_again(
    uow_factory: UowFactory, persist: Persist
) -> None:
    webhook = a_webhook()
    await persist(webhook)
    [delivery] = await record(uow_factory, a_webhook_event())
    await claim(uow_factory, "w", NOW)

    assert await delivered(uow_factory, delivery.id, "w", NOW, status=200)

    [stored] = await deliveries_of(uow_factory, webhook)
    assert (stored.status, stored.attempts, stored.last_response_status) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )
    assert await claim(uow_factory, "w", NOW + timedelta(days=2)) == []


async def test_a_delivery_given_up_ends_and_lets_the_next_of_its_account_through(
    uow_factory: UowFactory, persist: Persist
) -> None:
    webhook = a_webhook()
    await persist(webhook)
    ada = a_webhook_event()
    [first, second] = await record(uow_factory, ada, a_webhook_event(user_id=ada.user_id))
    await claim(uow_factory, "w", NOW)

    assert await failed(uow_factory, first.id, "w", NOW, 410)

    assert await claimed_ids(uow_factory, "w", NOW) == [second.id]
    stored = {d.id: d for d in await deliveries_of(uow_factory, webhook)}
    assert (stored[first.id].status, stored[first.id].attempts) == (DeliveryStatus.FAILED, 1)
    assert stored[first.id].last_response_status == 410
    assert not await retry(uow_factory, first.id, "w", NOW + timedelta(hours=1))


async def test_a_deleted_webhooks_deliveries_go_with_it(
    uow_factory: UowFactory, persist: Persist
) -> None:
    kept, dropped = a_webhook(), a_webhook()
    await persist(kept, dropped)
    await record(uow_factory, a_webhook_event())
    async with uow_factory() as uow:
        assert await uow.webhooks.delete(dropped.id)
        await uow.commit()

    assert {d.webhook_id for d in await claim(uow_factory, "w", NOW)} == {kept.id}
    assert await deliveries_of(uow_factory, dropped) == []


# --- the admin listing -------------------------------------------------------------------------


async def test_an_endpoints_deliveries_are_listed_newest_first_page_by_page(
    uow_factory: UowFactory, persist: Persist
) -> None:
    webhook, other = a_webhook(), a_webhook(events=frozenset({"user.deleted"}))
    await persist(webhook, other)
    events = [a_webhook_event(created_at=NOW + timedelta(minutes=i)) for i in range(3)]
    # Two at the same moment: the id breaks the tie.
    events += [a_webhook_event(created_at=NOW + timedelta(minutes=5)) for _ in range(2)]
    fanned_out = await record(uow_factory, *events)
    newest_first = sorted(fanned_out, key=lambda d: (d.created_at, d.id), reverse=True)

    pages: list[list[WebhookDelivery]] = []
    before = None
    while page := await deliveries_of(uow_factory, webhook, before=before, limit=2):
        pages.append(page)
        before = Position(created_at=page[-1].created_at, id=page[-1].id)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [d for page in pages for d in page] == newest_first
    assert await deliveries_of(uow_factory, other) == []

"""DispatchOutbox: due mail is sent once, failures wait longer each time, then are given up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from application.outbox import MAX_ATTEMPTS, OutboxMessage, retry_delay
from application.ports.mail import MailDeliveryFailed, MailMessage
from application.use_cases.dispatch_outbox import (
    BATCH_SIZE,
    DispatchOutbox,
    DispatchOutboxCommand,
    DispatchReport,
)
from tests.fakes import (
    FakeUnitOfWorkFactory,
    FixedClock,
    InMemoryStore,
    RecordingMailer,
    SequentialIds,
)


class Outbox:
    """Puts mail straight into the store's outbox, as a committed use case would have."""

    def __init__(self, store: InMemoryStore, clock: FixedClock, ids: SequentialIds) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids

    def queue(self, count: int = 1, *, due_in: timedelta = timedelta(0)) -> list[OutboxMessage]:
        queued = []
        for _ in range(count):
            n = len(self._store.outbox) + 1
            message = MailMessage(
                to=f"user{n}@example.com",
                subject=f"message {n}",
                text=f"text {n}\n",
                html=f"<p>text {n}</p>",
            )
            item = OutboxMessage.new(self._ids.new_id(), message, self._clock.now())
            item.next_attempt_at += due_in
            self._store.outbox[item.id] = item
            queued.append(item)
        return queued

    def get(self, item: OutboxMessage) -> OutboxMessage:
        return self._store.outbox[item.id]


class RefusingMailer:
    """Fails every send with the given error."""

    def __init__(self, error: MailDeliveryFailed) -> None:
        self.error = error
        self.attempts = 0

    async def send(self, _message: MailMessage) -> None:  # the Mailer port's signature
        self.attempts += 1
        raise self.error


class SlowMailer:
    """Each send takes `seconds` on the clock; `meanwhile` runs after each one, standing for
    another replica's dispatcher polling while this one is busy."""

    def __init__(self, clock: FixedClock, seconds: float) -> None:
        self.clock = clock
        self.seconds = seconds
        self.sent: list[MailMessage] = []
        self.meanwhile: Callable[[], Awaitable[object]] | None = None

    async def send(self, message: MailMessage) -> None:
        self.clock.advance(seconds=self.seconds)
        self.sent.append(message)
        if self.meanwhile is not None:
            await self.meanwhile()


@pytest.fixture
def outbox(store: InMemoryStore, clock: FixedClock, ids: SequentialIds) -> Outbox:
    return Outbox(store, clock, ids)


def subjects(messages: list[MailMessage]) -> list[str]:
    return [message.subject for message in messages]


# --- the back-off --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [
        (1, timedelta(seconds=30)),
        (2, timedelta(minutes=1)),
        (3, timedelta(minutes=2)),
        (4, timedelta(minutes=4)),
        (7, timedelta(minutes=32)),
        (8, timedelta(hours=1)),  # 64 minutes, capped
        (MAX_ATTEMPTS, timedelta(hours=1)),
    ],
)
def test_the_retry_delay_starts_at_30_seconds_doubles_and_stops_at_an_hour(
    attempts: int, delay: timedelta
) -> None:
    assert retry_delay(attempts) == delay


def test_the_retry_delay_never_shrinks() -> None:
    delays = [retry_delay(attempts) for attempts in range(1, MAX_ATTEMPTS + 1)]

    assert delays == sorted(delays)
    assert max(delays) == timedelta(hours=1)


# --- sending -------------------------------------------------------------------------------


async def test_due_mail_is_sent_once_and_marked_sent(
    dispatch_outbox: DispatchOutbox,
    outbox: Outbox,
    mailer: RecordingMailer,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    queued = outbox.queue(3)

    report = await dispatch_outbox.execute(DispatchOutboxCommand())

    assert report == DispatchReport(sent=3, failed=0)
    assert sorted(subjects(mailer.sent)) == ["message 1", "message 2", "message 3"]
    assert [m.message for m in queued] == sorted(mailer.sent, key=lambda m: m.subject)
    for item in queued:
        stored = outbox.get(item)
        assert (stored.sent_at, stored.attempts, stored.failed_at) == (clock.now(), 1, None)
    assert store.outbox_claims == {}


async def test_a_second_run_sends_nothing_again(
    dispatch_outbox: DispatchOutbox, outbox: Outbox, mailer: RecordingMailer, clock: FixedClock
) -> None:
    outbox.queue(2)
    await dispatch_outbox.execute(DispatchOutboxCommand())
    clock.advance(days=1)

    report = await dispatch_outbox.execute(DispatchOutboxCommand())

    assert report.attempted == 0
    assert mailer.attempts == 2


async def test_the_oldest_mail_goes_first(
    dispatch_outbox: DispatchOutbox, outbox: Outbox, mailer: RecordingMailer
) -> None:
    [newest] = outbox.queue(due_in=-timedelta(minutes=1))
    [oldest] = outbox.queue(due_in=-timedelta(minutes=3))
    [middle] = outbox.queue(due_in=-timedelta(minutes=2))

    await dispatch_outbox.execute(DispatchOutboxCommand())

    assert mailer.sent == [oldest.message, middle.message, newest.message]


async def test_one_run_sends_at_most_a_batch(
    dispatch_outbox: DispatchOutbox, outbox: Outbox, mailer: RecordingMailer
) -> None:
    outbox.queue(BATCH_SIZE + 5)

    first, second = (
        await dispatch_outbox.execute(DispatchOutboxCommand()),
        await dispatch_outbox.execute(DispatchOutboxCommand()),
    )

    assert (first.sent, second.sent) == (BATCH_SIZE, 5)
    assert len(set(subjects(mailer.sent))) == BATCH_SIZE + 5


async def test_mail_not_yet_due_is_left_alone_until_it_is(
    dispatch_outbox: DispatchOutbox,
    outbox: Outbox,
    mailer: RecordingMailer,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    [later] = outbox.queue(due_in=timedelta(minutes=5))

    assert (await dispatch_outbox.execute(DispatchOutboxCommand())).attempted == 0
    assert outbox.get(later) == later
    assert store.outbox_claims == {}

    clock.advance(minutes=5)
    assert (await dispatch_outbox.execute(DispatchOutboxCommand())).sent == 1
    assert mailer.sent == [later.message]


async def test_mail_another_dispatcher_holds_is_sent_only_once_its_claim_lapsed(
    dispatch_outbox: DispatchOutbox,
    outbox: Outbox,
    mailer: RecordingMailer,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    [held] = outbox.queue()
    # A dispatcher that claimed it, then died before sending.
    store.outbox_claims[held.id] = ("crashed", clock.now() + timedelta(minutes=2))

    assert (await dispatch_outbox.execute(DispatchOutboxCommand())).attempted == 0
    clock.advance(minutes=2, seconds=1)
    assert (await dispatch_outbox.execute(DispatchOutboxCommand())).sent == 1
    assert mailer.sent == [held.message]


# --- failing -------------------------------------------------------------------------------


async def test_a_failed_send_is_retried_after_30_seconds_and_then_sent_once(
    uow: FakeUnitOfWorkFactory,
    outbox: Outbox,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
) -> None:
    mailer = RecordingMailer(failures=1)
    dispatch = DispatchOutbox(uow, mailer, clock, ids)
    [item] = outbox.queue()
    failed_at = clock.now()

    assert await dispatch.execute(DispatchOutboxCommand()) == DispatchReport(sent=0, failed=1)

    stored = outbox.get(item)
    assert stored.attempts == 1
    assert stored.next_attempt_at == failed_at + timedelta(seconds=30)
    assert (stored.sent_at, stored.failed_at) == (None, None)
    assert stored.last_error is not None
    assert "451" in stored.last_error
    assert store.outbox_claims == {}

    clock.advance(seconds=29)
    assert (await dispatch.execute(DispatchOutboxCommand())).attempted == 0
    assert mailer.attempts == 1

    clock.advance(seconds=1)
    assert await dispatch.execute(DispatchOutboxCommand()) == DispatchReport(sent=1, failed=0)
    assert mailer.sent == [item.message]
    assert (outbox.get(item).attempts, outbox.get(item).sent_at) == (2, clock.now())

    clock.advance(hours=2)
    assert (await dispatch.execute(DispatchOutboxCommand())).attempted == 0
    assert mailer.sent == [item.message]


async def test_each_failure_waits_twice_as_long_as_the_one_before(
    uow: FakeUnitOfWorkFactory, outbox: Outbox, clock: FixedClock, ids: SequentialIds
) -> None:
    dispatch = DispatchOutbox(uow, RecordingMailer(failures=3), clock, ids)
    [item] = outbox.queue()
    waits = []
    for _ in range(3):
        await dispatch.execute(DispatchOutboxCommand())
        wait = outbox.get(item).next_attempt_at - clock.now()
        waits.append(wait)
        clock.advance(seconds=wait.total_seconds())

    assert waits == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]


async def test_one_failure_does_not_hold_up_the_rest_of_the_batch(
    uow: FakeUnitOfWorkFactory, outbox: Outbox, clock: FixedClock, ids: SequentialIds
) -> None:
    mailer = RecordingMailer(failures=1)
    first, *others = outbox.queue(3)

    report = await DispatchOutbox(uow, mailer, clock, ids).execute(DispatchOutboxCommand())

    assert report == DispatchReport(sent=2, failed=1)
    assert mailer.sent == [item.message for item in others]
    assert outbox.get(first).sent_at is None


async def test_a_permanent_failure_is_given_up_at_once(
    uow: FakeUnitOfWorkFactory, outbox: Outbox, clock: FixedClock, ids: SequentialIds
) -> None:
    mailer = RefusingMailer(MailDeliveryFailed("550: no such mailbox", permanent=True))
    dispatch = DispatchOutbox(uow, mailer, clock, ids)
    [item] = outbox.queue()

    assert await dispatch.execute(DispatchOutboxCommand()) == DispatchReport(sent=0, failed=1)

    stored = outbox.get(item)
    assert (stored.attempts, stored.failed_at, stored.sent_at) == (1, clock.now(), None)
    assert stored.last_error == "550: no such mailbox"
    clock.advance(days=1)
    assert (await dispatch.execute(DispatchOutboxCommand())).attempted == 0
    assert mailer.attempts == 1


async def test_a_message_that_keeps_failing_is_given_up_after_the_last_attempt(
    uow: FakeUnitOfWorkFactory, outbox: Outbox, clock: FixedClock, ids: SequentialIds
) -> None:
    mailer = RefusingMailer(MailDeliveryFailed("451: try again later"))
    dispatch = DispatchOutbox(uow, mailer, clock, ids)
    [item] = outbox.queue()
    for attempt in range(1, MAX_ATTEMPTS):
        assert (await dispatch.execute(DispatchOutboxCommand())).failed == 1
        assert outbox.get(item).failed_at is None, f"given up after {attempt} attempts"
        clock.advance(seconds=retry_delay(attempt).total_seconds())

    assert (await dispatch.execute(DispatchOutboxCommand())).failed == 1

    stored = outbox.get(item)
    assert (stored.attempts, stored.failed_at) == (MAX_ATTEMPTS, clock.now())
    clock.advance(days=7)
    assert (await dispatch.execute(DispatchOutboxCommand())).attempted == 0
    assert mailer.attempts == MAX_ATTEMPTS


async def test_a_long_error_is_cut_to_what_the_column_holds(
    uow: FakeUnitOfWorkFactory, outbox: Outbox, clock: FixedClock, ids: SequentialIds
) -> None:
    mailer = RefusingMailer(MailDeliveryFailed("x" * 2000))
    [item] = outbox.queue()

    await DispatchOutbox(uow, mailer, clock, ids).execute(DispatchOutboxCommand())

    assert outbox.get(item).last_error == "x" * 500


# --- several dispatchers -------------------------------------------------------------------


async def test_a_batch_slower_than_its_claim_never_sends_what_another_dispatcher_took_over(
    uow: FakeUnitOfWorkFactory, outbox: Outbox, clock: FixedClock, ids: SequentialIds
) -> None:
    # A slow mail server: each send takes 10 s, so a whole batch would outlast its claim.
    slow = SlowMailer(clock, seconds=10)
    other_mailer = RecordingMailer()
    other = DispatchOutbox(uow, other_mailer, clock, ids)
    slow.meanwhile = lambda: other.execute(DispatchOutboxCommand())
    outbox.queue(BATCH_SIZE)

    await DispatchOutbox(uow, slow, clock, ids).execute(DispatchOutboxCommand())
    slow.meanwhile = None
    for _ in range(3):
        clock.advance(minutes=3)
        await other.execute(DispatchOutboxCommand())

    sent = Counter(subjects(slow.sent + other_mailer.sent))
    assert sent == Counter({f"message {n}": 1 for n in range(1, BATCH_SIZE + 1)})

"""One-time tokens and the mail outbox on SQLite and PostgreSQL alike: the repository contracts
the recovery use cases rely on, dispatchers racing for the same mail, and a message that a real
SMTP server first refuses, then accepts — and receives exactly once."""

from __future__ import annotations

import asyncio
import email.policy
import random
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from uuid import UUID

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.mail.smtp import SmtpMailer
from adapters.persistence.tables import one_time_tokens, outbox_messages
from adapters.system.clock import SystemClock
from adapters.system.ids import RandomIdGenerator
from application.outbox import OutboxMessage
from application.ports.mail import MailMessage
from application.use_cases.dispatch_outbox import (
    DispatchOutbox,
    DispatchOutboxCommand,
    DispatchReport,
)
from domain.one_time_token import TokenPurpose
from tests.fakes import FixedClock
from tests.integration.builders import NOW, a_one_time_token, a_user, an_outbox_message
from tests.integration.conftest import Persist, UowFactory, sql_only

RESET = TokenPurpose.RESET_PASSWORD
VERIFY = TokenPurpose.VERIFY_EMAIL
LEASE = timedelta(minutes=2)
TICK = timedelta(microseconds=1)


async def used_at(engine: AsyncEngine, token_id: UUID) -> datetime | None:
    async with engine.connect() as connection:
        value: datetime | None = await connection.scalar(
            select(one_time_tokens.c.used_at).where(one_time_tokens.c.id == token_id)
        )
        return value


async def outbox_row(engine: AsyncEngine, message_id: UUID) -> Row[Any]:
    async with engine.connect() as connection:
        statement = select(outbox_messages).where(outbox_messages.c.id == message_id)
        return (await connection.execute(statement)).one()


async def claim(
    uow_factory: UowFactory,
    now: datetime,
    claimant: str,
    *,
    limit: int = 10,
    lease: timedelta = LEASE,
) -> list[OutboxMessage]:
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_due(now, claimant=claimant, lease=lease, limit=limit)
        await uow.commit()
    return claimed


async def mark_sent(
    uow_factory: UowFactory, message_id: UUID, claimant: str, now: datetime
) -> None:
    async with uow_factory() as uow:
        await uow.outbox.mark_sent(message_id, claimant, now)
        await uow.commit()


async def mark_failed(
    uow_factory: UowFactory,
    message_id: UUID,
    claimant: str,
    *,
    next_attempt_at: datetime,
    give_up_at: datetime | None = None,
    error: str = "SMTPDataError (451)",
) -> None:
    async with uow_factory() as uow:
        await uow.outbox.mark_failed(
            message_id,
            claimant,
            error=error,
            next_attempt_at=next_attempt_at,
            give_up_at=give_up_at,
        )
        await uow.commit()


# --- one-time tokens -------------------------------------------------------------------------


async def test_a_usable_token_is_found_by_its_hash_and_purpose(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    token = a_one_time_token(user)
    await persist(user, token, a_one_time_token(user, purpose=VERIFY))

    async with uow_factory() as uow:
        assert await uow.one_time_tokens.find_usable(token.token_hash, RESET, NOW) == token
        assert await uow.one_time_tokens.find_usable(token.token_hash, VERIFY, NOW) is None
        assert await uow.one_time_tokens.find_usable("0" * 64, RESET, NOW) is None


async def test_a_token_is_found_until_just_before_its_expiry(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    token = a_one_time_token(user)
    await persist(user, token)

    async with uow_factory() as uow:
        before = await uow.one_time_tokens.find_usable(
            token.token_hash, RESET, token.expires_at - TICK
        )
        at = await uow.one_time_tokens.find_usable(token.token_hash, RESET, token.expires_at)
    assert before == token
    assert at is None


async def test_a_used_token_is_not_found(uow_factory: UowFactory, persist: Persist) -> None:
    user = a_user()
    token = a_one_time_token(user, used_at=NOW - timedelta(seconds=1))
    await persist(user, token)

    async with uow_factory() as uow:
        assert await uow.one_time_tokens.find_usable(token.token_hash, RESET, NOW) is None


@sql_only
async def test_a_token_is_consumed_once(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    user = a_user()
    token = a_one_time_token(user)
    await persist(user, token)

    async with uow_factory() as uow:
        assert await uow.one_time_tokens.consume(token.id, NOW) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.one_time_tokens.consume(token.id, NOW + TICK) is False
        assert await uow.one_time_tokens.find_usable(token.token_hash, RESET, NOW) is None
    assert await used_at(engine, token.id) == NOW


@sql_only
async def test_an_expired_or_unknown_token_is_not_consumed(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    user = a_user()
    token = a_one_time_token(user)
    await persist(user, token)

    async with uow_factory() as uow:
        assert await uow.one_time_tokens.consume(token.id, token.expires_at) is False
        assert await uow.one_time_tokens.consume(UUID(int=7), NOW) is False
        await uow.commit()
    assert await used_at(engine, token.id) is None


async def test_a_consume_that_is_not_committed_spends_nothing(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    token = a_one_time_token(user)
    await persist(user, token)

    async with uow_factory() as uow:
        assert await uow.one_time_tokens.consume(token.id, NOW)
    async with uow_factory() as uow:
        assert await uow.one_time_tokens.find_usable(token.token_hash, RESET, NOW) == token


async def test_of_concurrent_consumes_of_one_token_exactly_one_wins(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    token = a_one_time_token(user)
    await persist(user, token)
    contenders = 10
    start = asyncio.Barrier(contenders)

    async def consume() -> bool:
        await start.wait()
        async with uow_factory() as uow:
            won = await uow.one_time_tokens.consume(token.id, NOW)
            await uow.commit()
            return won

    results = await asyncio.gather(*(consume() for _ in range(contenders)), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert results.count(True) == 1


@sql_only
async def test_invalidating_spends_only_the_accounts_unused_tokens_of_that_purpose(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    ada, bob = a_user(), a_user()
    older, newer = a_one_time_token(ada), a_one_time_token(ada)
    spent_earlier = a_one_time_token(ada, used_at=NOW - timedelta(hours=1))
    verification = a_one_time_token(ada, purpose=VERIFY)
    bobs = a_one_time_token(bob)
    await persist(ada, bob, older, newer, spent_earlier, verification, bobs)

    async with uow_factory() as uow:
        assert await uow.one_time_tokens.invalidate_unused(ada.id, RESET, NOW) == 2
        await uow.commit()

    assert await used_at(engine, older.id) == NOW
    assert await used_at(engine, newer.id) == NOW
    assert await used_at(engine, spent_earlier.id) == NOW - timedelta(hours=1)
    assert await used_at(engine, verification.id) is None
    assert await used_at(engine, bobs.id) is None


async def test_tokens_are_counted_by_account_purpose_and_creation_time(
    uow_factory: UowFactory, persist: Persist
) -> None:
    ada, bob = a_user(), a_user()
    since = NOW - timedelta(hours=1)
    await persist(
        ada,
        bob,
        a_one_time_token(ada, created_at=since - TICK),  # too old
        a_one_time_token(ada, created_at=since),
        a_one_time_token(ada, created_at=NOW - timedelta(minutes=30), used_at=NOW),  # used: counts
        a_one_time_token(ada, created_at=NOW),
        a_one_time_token(ada, purpose=VERIFY, created_at=NOW),
        a_one_time_token(bob, created_at=NOW),
    )

    async with uow_factory() as uow:
        assert await uow.one_time_tokens.count_created_since(ada.id, RESET, since) == 3
        assert await uow.one_time_tokens.count_created_since(ada.id, VERIFY, since) == 1
        assert await uow.one_time_tokens.count_created_since(bob.id, RESET, NOW + TICK) == 0


@sql_only
async def test_tokens_are_deleted_with_their_user(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    ada, bob = a_user(), a_user()
    adas = a_one_time_token(ada)
    bobs = a_one_time_token(bob)
    await persist(ada, bob, adas, a_one_time_token(ada, purpose=VERIFY), bobs)

    async with uow_factory() as uow:
        await uow.users.delete(ada.id)
        await uow.commit()

    async with engine.connect() as connection:
        left = (await connection.execute(select(one_time_tokens.c.id))).scalars().all()
    assert left == [bobs.id]
    async with uow_factory() as uow:
        assert await uow.one_time_tokens.find_usable(adas.token_hash, RESET, NOW) is None


# --- the outbox ------------------------------------------------------------------------------


async def test_a_queued_message_comes_back_whole_when_claimed(
    uow_factory: UowFactory, persist: Persist
) -> None:
    message = an_outbox_message()
    await persist(message)

    assert await claim(uow_factory, NOW, "a") == [message]


async def test_only_due_unsent_unfailed_unclaimed_messages_are_claimed(
    uow_factory: UowFactory, persist: Persist
) -> None:
    sent = an_outbox_message(next_attempt_at=NOW - timedelta(hours=3))
    failed = an_outbox_message(next_attempt_at=NOW - timedelta(hours=2))
    held = an_outbox_message(next_attempt_at=NOW - timedelta(hours=1))
    due = an_outbox_message(next_attempt_at=NOW)
    not_yet = an_outbox_message(next_attempt_at=NOW + TICK)
    await persist(sent, failed, held, due, not_yet)
    # Each earlier moment has exactly one message due: put each in its state through the port.
    assert await claim(uow_factory, NOW - timedelta(hours=3), "s") == [sent]
    await mark_sent(uow_factory, sent.id, "s", NOW - timedelta(hours=3))
    assert await claim(uow_factory, NOW - timedelta(hours=2), "f") == [failed]
    await mark_failed(
        uow_factory,
        failed.id,
        "f",
        next_attempt_at=NOW - timedelta(hours=2),
        give_up_at=NOW - timedelta(hours=2),
    )
    assert await claim(uow_factory, NOW - timedelta(hours=1), "h", lease=timedelta(hours=2)) == [
        held
    ]

    claimed = await claim(uow_factory, NOW, "me")

    assert [m.id for m in claimed] == [due.id]


async def test_the_oldest_messages_are_claimed_first_up_to_the_limit(
    uow_factory: UowFactory, persist: Persist
) -> None:
    messages = [an_outbox_message(next_attempt_at=NOW - timedelta(minutes=n)) for n in range(7)]
    oldest_first = messages[::-1]
    shuffled = messages[:]
    random.Random(4).shuffle(shuffled)
    await persist(*shuffled)

    first = await claim(uow_factory, NOW, "a", limit=3)
    second = await claim(uow_factory, NOW, "b", limit=3)
    third = await claim(uow_factory, NOW, "c", limit=3)

    assert [m.id for m in first] == [m.id for m in oldest_first[:3]]
    assert [m.id for m in second] == [m.id for m in oldest_first[3:6]]
    assert [m.id for m in third] == [oldest_first[6].id]


@sql_only
async def test_a_claimed_message_is_claimed_by_no_one_else_until_its_lease_lapses(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    message = an_outbox_message()
    await persist(message)
    assert await claim(uow_factory, NOW, "a") == [message]

    assert await claim(uow_factory, NOW + LEASE - TICK, "b") == []
    assert await claim(uow_factory, NOW + LEASE, "b") == []
    assert [m.id for m in await claim(uow_factory, NOW + LEASE + TICK, "b")] == [message.id]

    row = await outbox_row(engine, message.id)
    assert (row.claimed_by, row.claimed_until) == ("b", NOW + 2 * LEASE + TICK)


@sql_only
async def test_after_a_lapsed_lease_only_the_new_claimant_can_settle_the_message(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    message = an_outbox_message()
    await persist(message)
    await claim(uow_factory, NOW, "slow")
    later = NOW + LEASE + timedelta(seconds=1)
    await claim(uow_factory, later, "fresh")

    await mark_sent(uow_factory, message.id, "slow", later)
    await mark_failed(uow_factory, message.id, "slow", next_attempt_at=later, give_up_at=later)

    row = await outbox_row(engine, message.id)
    assert (row.sent_at, row.failed_at, row.attempts, row.claimed_by) == (None, None, 0, "fresh")
    await mark_sent(uow_factory, message.id, "fresh", later)
    assert (await outbox_row(engine, message.id)).sent_at == later


@sql_only
async def test_sending_is_recorded_and_releases_the_claim_for_good(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    message = an_outbox_message()
    await persist(message)
    await claim(uow_factory, NOW, "a")

    await mark_sent(uow_factory, message.id, "a", NOW + timedelta(seconds=1))

    row = await outbox_row(engine, message.id)
    assert row.sent_at == NOW + timedelta(seconds=1)
    assert row.attempts == 1
    assert (row.claimed_by, row.claimed_until, row.failed_at) == (None, None, None)
    assert await claim(uow_factory, NOW + timedelta(days=1), "b") == []


@sql_only
async def test_a_claimant_without_the_claim_can_neither_send_nor_fail_a_message(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    held, unclaimed = an_outbox_message(), an_outbox_message(next_attempt_at=NOW + LEASE)
    await persist(held, unclaimed)
    await claim(uow_factory, NOW, "holder")
    before = await outbox_row(engine, held.id)

    for message in (held, unclaimed):
        await mark_sent(uow_factory, message.id, "intruder", NOW)
        await mark_failed(uow_factory, message.id, "intruder", next_attempt_at=NOW, give_up_at=NOW)

    assert await outbox_row(engine, held.id) == before
    assert before.claimed_by == "holder"
    unclaimed_row = await outbox_row(engine, unclaimed.id)
    assert (unclaimed_row.sent_at, unclaimed_row.failed_at, unclaimed_row.attempts) == (
        None,
        None,
        0,
    )


@sql_only
async def test_a_failure_is_recorded_and_the_message_is_claimable_again_when_due(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    message = an_outbox_message()
    await persist(message)
    await claim(uow_factory, NOW, "a")

    await mark_failed(uow_factory, message.id, "a", next_attempt_at=NOW + timedelta(seconds=30))

    row = await outbox_row(engine, message.id)
    assert (row.attempts, row.last_error) == (1, "SMTPDataError (451)")
    assert (row.claimed_by, row.claimed_until, row.failed_at, row.sent_at) == (None,) * 4
    assert await claim(uow_factory, NOW + timedelta(seconds=30) - TICK, "b") == []
    [again] = await claim(uow_factory, NOW + timedelta(seconds=30), "b")
    assert (again.id, again.attempts, again.last_error) == (message.id, 1, "SMTPDataError (451)")
    assert again.next_attempt_at == NOW + timedelta(seconds=30)


@sql_only
async def test_a_message_given_up_is_never_claimed_again(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    message = an_outbox_message()
    await persist(message)
    await claim(uow_factory, NOW, "a")

    await mark_failed(
        uow_factory, message.id, "a", next_attempt_at=NOW + timedelta(seconds=30), give_up_at=NOW
    )

    row = await outbox_row(engine, message.id)
    assert (row.failed_at, row.attempts, row.claimed_by) == (NOW, 1, None)
    assert await claim(uow_factory, NOW + timedelta(days=7), "b") == []


# --- dispatchers racing ----------------------------------------------------------------------


@dataclass
class SharedRecordingMailer:
    """Every dispatcher's sends, in one list; each send yields, so dispatchers interleave."""

    sent: list[MailMessage] = field(default_factory=list)

    async def send(self, message: MailMessage) -> None:
        await asyncio.sleep(0.001)
        self.sent.append(message)


@pytest.mark.parametrize("dispatchers", [2, 5])
async def test_dispatchers_running_at_once_send_every_message_exactly_once(
    uow_factory: UowFactory, persist: Persist, dispatchers: int
) -> None:
    now = datetime.now(UTC)
    messages = [
        an_outbox_message(
            created_at=now - timedelta(seconds=n), next_attempt_at=now - timedelta(seconds=n)
        )
        for n in range(30)
    ]
    await persist(*messages)
    mailer = SharedRecordingMailer()
    start = asyncio.Barrier(dispatchers)

    async def run_until_idle() -> int:
        dispatch = DispatchOutbox(uow_factory, mailer, SystemClock(), RandomIdGenerator())
        await start.wait()
        sent = 0
        while (report := await dispatch.execute(DispatchOutboxCommand())).attempted:
            sent += report.sent
        return sent

    sent_by_each = await asyncio.gather(*(run_until_idle() for _ in range(dispatchers)))

    assert sum(sent_by_each) == 30
    assert Counter(m.subject for m in mailer.sent) == Counter(m.message.subject for m in messages)
    assert await claim(uow_factory, now + timedelta(days=1), "late") == []  # every one settled


# --- through a real SMTP server ----------------------------------------------------------------


SENDER = "Portcullis <no-reply@portcullis.test>"
TRY_LATER = "451 4.3.0 try later"
ACCEPTED = "250 OK"


@dataclass
class RefusesOnceHandler:
    """Answers the first DATA with 451, every later one with 250; keeps what it accepted."""

    tries: int = 0
    accepted: list[Envelope] = field(default_factory=list)

    # aiosmtpd calls each hook with the server, the session and the envelope.
    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        self.tries += 1
        if self.tries == 1:
            return TRY_LATER
        self.accepted.append(envelope)
        return ACCEPTED


@dataclass
class SmtpServer:
    handler: RefusesOnceHandler
    port: int


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    handler = RefusesOnceHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    yield SmtpServer(handler, port)
    controller.stop()


def parse(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


@sql_only
async def test_mail_the_smtp_server_refused_once_is_delivered_once_after_the_retry_delay(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine, smtp_server: SmtpServer
) -> None:
    clock = FixedClock(NOW)
    queued = an_outbox_message(created_at=NOW, next_attempt_at=NOW)
    await persist(queued)
    mailer = SmtpMailer("127.0.0.1", smtp_server.port, None, None, False, SENDER, timeout=5)
    dispatch = DispatchOutbox(uow_factory, mailer, clock, RandomIdGenerator())

    assert await dispatch.execute(DispatchOutboxCommand()) == DispatchReport(sent=0, failed=1)
    row = await outbox_row(engine, queued.id)
    assert (row.attempts, row.sent_at, row.failed_at) == (1, None, None)
    assert row.next_attempt_at == NOW + timedelta(seconds=30)
    assert "451" in row.last_error
    assert smtp_server.handler.accepted == []

    clock.advance(seconds=29)
    assert (await dispatch.execute(DispatchOutboxCommand())).attempted == 0
    assert smtp_server.handler.tries == 1

    clock.advance(seconds=1)
    assert await dispatch.execute(DispatchOutboxCommand()) == DispatchReport(sent=1, failed=0)
    [envelope] = smtp_server.handler.accepted
    assert envelope.rcpt_tos == [queued.message.to]
    delivered = parse(envelope.original_content or b"")
    assert delivered["Subject"] == queued.message.subject
    text = delivered.get_body(preferencelist=("plain",))
    assert text is not None
    assert text.get_content().replace("\r\n", "\n") == queued.message.text
    row = await outbox_row(engine, queued.id)
    assert (row.attempts, row.sent_at) == (2, clock.now())

    clock.advance(hours=1)
    assert (await dispatch.execute(DispatchOutboxCommand())).attempted == 0
    assert smtp_server.handler.tries == 2
    assert len(smtp_server.handler.accepted) == 1

"""The reader behind every authenticated request, beyond the answers the repository tests
check: many reads at once each get their own answer, and the thread that runs SQLite's fast
reads survives callers that give up and stops when closed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from adapters.persistence.authenticated_users import AUTHENTICATED_USER
from adapters.persistence.database import Database
from adapters.persistence.fast_reads import CompiledRead, ThreadedSqliteReads, _Request
from adapters.persistence.users import user_from_mapping
from application.ports.persistence import AuthenticatedUserReader
from domain.session import Session
from domain.user import User
from tests.integration.builders import NOW, a_session, a_user
from tests.integration.conftest import Persist


async def test_many_reads_at_once_each_get_their_own_answer(
    authenticated_users: AuthenticatedUserReader, persist: Persist
) -> None:
    users = [a_user() for _ in range(12)]
    live = [a_session(user) for user in users]
    revoked = [a_session(user, revoked_at=NOW) for user in users]
    await persist(*users, *live, *revoked)
    asks = [(s, s.user_id, s in live) for s in [*live, *revoked]] * 3
    # Someone else's user id with a live session: never that session's owner, never anyone.
    asks += [(live[0], users[1].id, False), (live[1], users[0].id, False)]

    found = await asyncio.gather(
        *(authenticated_users.find(s.id, user_id, NOW) for s, user_id, _ in asks)
    )

    for (session, user_id, usable), user in zip(asks, found, strict=True):
        assert (user.id if user else None) == (user_id if usable else None), session


@pytest.fixture
async def sqlite_database(sqlite_database_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_database_url)
    yield database
    await database.aclose()


@pytest.fixture
def threaded(sqlite_database: Database) -> ThreadedSqliteReads:
    """SQLite's fast reads, whose thread is their own (PostgreSQL's have none)."""
    reads = sqlite_database.fast_reads
    assert isinstance(reads, ThreadedSqliteReads)
    return reads


@pytest.fixture
def reader(sqlite_database: Database) -> AuthenticatedUserReader:
    return sqlite_database.authenticated_users


async def store_user_with_session(database: Database) -> tuple[User, Session]:
    user = a_user()
    session = a_session(user)
    async with database.unit_of_work() as uow:
        await uow.users.add(user)
        await uow.sessions.add(session)
        await uow.commit()
    return user, session


def reader_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "sqlite-reads"}


async def test_a_caller_that_gives_up_waiting_leaves_the_reader_working(
    reader: AuthenticatedUserReader, sqlite_database: Database
) -> None:
    user, session = await store_user_with_session(sqlite_database)
    abandoned = [asyncio.create_task(reader.find(session.id, user.id, NOW)) for _ in range(20)]
    await asyncio.sleep(0)  # the reads are queued
    for task in abandoned:
        task.cancel()

    assert await reader.find(session.id, user.id, NOW) == user


async def test_a_read_for_a_loop_closed_meanwhile_leaves_the_reader_working(
    threaded: ThreadedSqliteReads, reader: AuthenticatedUserReader, sqlite_database: Database
) -> None:
    user, session = await store_user_with_session(sqlite_database)
    assert await reader.find(session.id, user.id, NOW) == user  # the thread is running
    closed = asyncio.new_event_loop()
    orphan = closed.create_future()
    closed.close()
    read = CompiledRead.for_dialect(
        AUTHENTICATED_USER, sqlite_database.engine.dialect, user_from_mapping
    )
    parameters = read.parameters({"session_id": session.id, "user_id": user.id, "now": NOW})
    # No caller can make a read whose loop closes before its answer in a test's time: queue one.
    requests = threaded._requests  # noqa: SLF001
    requests.put(_Request(closed, orphan, read, parameters))
    for _ in range(500):  # until the thread has taken it, alone in its batch
        if requests.empty():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)

    assert await asyncio.wait_for(reader.find(session.id, user.id, NOW), timeout=5) == user


async def test_the_reader_starts_its_thread_with_the_first_read_not_when_built(
    reader: AuthenticatedUserReader, sqlite_database: Database
) -> None:
    user, session = await store_user_with_session(sqlite_database)
    before = reader_threads()

    assert await reader.find(session.id, user.id, NOW) == user

    [started] = reader_threads() - before
    assert started.is_alive()


async def test_closing_the_reader_stops_its_thread(
    threaded: ThreadedSqliteReads, reader: AuthenticatedUserReader, sqlite_database: Database
) -> None:
    user, session = await store_user_with_session(sqlite_database)
    before = reader_threads()
    await reader.find(session.id, user.id, NOW)
    [thread] = reader_threads() - before
    assert thread.is_alive()

    await threaded.aclose()

    assert not thread.is_alive()

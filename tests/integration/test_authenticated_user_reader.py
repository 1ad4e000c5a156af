"""The reader behind every authenticated request, beyond the answers the repository tests
check: many reads at once each get their own answer, and the SQLite reader's thread survives
callers that give up and stops when closed."""

from __future__ import annotations

import asyncio

import pytest

from adapters.persistence.authenticated_users import ThreadedSqliteAuthenticatedUserReader
from application.ports.persistence import AuthenticatedUserReader
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
def threaded(
    authenticated_users: AuthenticatedUserReader,
) -> ThreadedSqliteAuthenticatedUserReader:
    if not isinstance(authenticated_users, ThreadedSqliteAuthenticatedUserReader):
        pytest.skip("only the SQLite reader has a thread of its own")
    return authenticated_users


async def test_a_caller_that_gives_up_waiting_leaves_the_reader_working(
    threaded: ThreadedSqliteAuthenticatedUserReader, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)
    abandoned = [asyncio.create_task(threaded.find(session.id, user.id, NOW)) for _ in range(20)]
    await asyncio.sleep(0)  # the reads are queued
    for task in abandoned:
        task.cancel()

    assert await threaded.find(session.id, user.id, NOW) == user


async def test_closing_the_reader_stops_its_thread(
    threaded: ThreadedSqliteAuthenticatedUserReader,
) -> None:
    thread = threaded._thread
    assert thread.is_alive()

    await threaded.aclose()

    assert not thread.is_alive()

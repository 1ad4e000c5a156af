"""On SQLite each statement is one hand-off to the connection's thread and back, and a unit of
work sends no COMMIT or ROLLBACK that would find no transaction open. Each hand-off ends with
the thread waking the event loop (`call_soon_threadsafe`), so a loop that counts those wake-ups
counts the hand-offs."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar, TypeVarTuple

import pytest

from adapters.persistence.database import Database
from application.errors import EmailAlreadyRegistered
from tests.integration.builders import NOW, a_user

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class CountingLoop(asyncio.SelectorEventLoop):
    wakeups = 0

    def call_soon_threadsafe(
        self,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        self.wakeups += 1
        return super().call_soon_threadsafe(callback, *args, context=context)


def on_counting_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on a CountingLoop of its own, in a thread, away from the tests' running loop."""

    def run() -> T:
        with asyncio.Runner(loop_factory=CountingLoop) as runner:
            return runner.run(coroutine)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


async def hand_offs(work: Callable[[], Awaitable[None]]) -> int:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, CountingLoop)
    before = loop.wakeups
    await work()
    return loop.wakeups - before


async def _opened(url: str) -> Database:
    database = Database(url)
    await database.open()
    return database


def test_a_rename_is_one_hand_off_for_its_update_and_one_for_its_commit(
    sqlite_database_url: str,
) -> None:
    async def scenario() -> list[int]:
        database = await _opened(sqlite_database_url)
        user = a_user()
        try:
            async with database.unit_of_work() as uow:  # opens the connection
                await uow.users.add(user)
                await uow.commit()

            async def rename() -> None:
                async with database.unit_of_work() as uow:
                    renamed = uow.users.track(user)
                    renamed.rename("Ada King", NOW)
                    await uow.users.save(renamed)
                    await uow.commit()

            async def read_then_rename() -> None:
                async with database.unit_of_work() as uow:
                    stored = await uow.users.get(user.id)
                    assert stored is not None
                    stored.rename("Augusta Ada King", NOW)
                    await uow.users.save(stored)
                    await uow.commit()

            counts = [await hand_offs(rename), await hand_offs(read_then_rename)]
            async with database.unit_of_work() as uow:
                assert await uow.users.get(user.id) == replace(
                    user, name="Augusta Ada King", updated_at=NOW
                )
            return counts
        finally:
            await database.aclose()

    assert on_counting_loop(scenario()) == [2, 3]


def test_a_unit_of_work_that_only_reads_sends_neither_commit_nor_rollback(
    sqlite_database_url: str,
) -> None:
    async def scenario() -> list[int]:
        database = await _opened(sqlite_database_url)
        user = a_user()
        try:
            async with database.unit_of_work() as uow:
                await uow.users.add(user)
                await uow.commit()

            async def read(commit: bool) -> None:
                async with database.unit_of_work() as uow:
                    assert await uow.users.get(user.id) == user
                    assert await uow.users.get_by_email(user.email) == user
                    if commit:
                        await uow.commit()

            return [await hand_offs(lambda: read(False)), await hand_offs(lambda: read(True))]
        finally:
            await database.aclose()

    assert on_counting_loop(scenario()) == [2, 2]


@pytest.mark.parametrize("after_a_read", [False, True], ids=["first", "after-a-read"])
def test_a_statement_that_fails_is_still_rolled_back_when_the_connection_returns(
    sqlite_database_url: str, after_a_read: bool
) -> None:
    """A failed INSERT has begun a transaction and reported nothing: the ROLLBACK must go."""

    async def scenario() -> tuple[int, bool]:
        database = await _opened(sqlite_database_url)
        taken = a_user()
        try:
            async with database.unit_of_work() as uow:
                await uow.users.add(taken)
                await uow.commit()

            async def add_a_duplicate() -> None:
                async with database.unit_of_work() as uow:
                    if after_a_read:
                        await uow.users.get(taken.id)
                    await uow.users.add(a_user(email=taken.email))

            loop = asyncio.get_running_loop()
            assert isinstance(loop, CountingLoop)
            before = loop.wakeups
            with pytest.raises(EmailAlreadyRegistered):
                await add_a_duplicate()
            count = loop.wakeups - before
            # The same (only) pooled connection: is a transaction still open on it?
            async with database.engine.connect() as connection:
                raw = await connection.get_raw_connection()
                assert raw.driver_connection is not None
                left_open: bool = raw.driver_connection.in_transaction
            return count, left_open
        finally:
            await database.aclose()

    statements = 2 if after_a_read else 1
    assert on_counting_loop(scenario()) == (statements + 1, False)

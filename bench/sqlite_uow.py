"""The CPU one SQLite unit of work costs, in-process: no server, no HTTP, only the service's
`Database` on a temporary file, so that the driver's share is not lost in a request's.

`patch` does what `PATCH /users/me` does on a rename (the user as authentication read them,
renamed, saved: one UPDATE, then COMMIT); `get+patch` reads the user inside the unit of work
first (one SELECT more), as an email change does. Each round runs N units of work one after
another and reports CPU per unit of work (`time.process_time`, every thread of the process,
the driver's own included) and wall time, and the loop's wake-ups from another thread (each a
hand-off to a connection's thread and back). CPU is the figure to compare: another process on
the machine stretches wall time, not CPU time.

    .venv/bin/python -m bench.sqlite_uow [N] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import contextvars
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVarTuple

from adapters.persistence.database import Database
from domain.email import Email
from domain.role import Role
from domain.user import User
from entrypoints.migrations import upgrade_to_head

Ts = TypeVarTuple("Ts")

DEFAULT_UNITS = 2000
DEFAULT_ROUNDS = 5


class CountingLoop(asyncio.SelectorEventLoop):
    """Counts the callbacks other threads hand the loop: one per hand-off and back."""

    wakeups = 0

    def call_soon_threadsafe(
        self,
        callback: Callable[[*Ts], object],
        *args: *Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        self.wakeups += 1
        return super().call_soon_threadsafe(callback, *args, context=context)


def _user() -> User:
    now = datetime.now(UTC)
    user_id = uuid.uuid4()
    return User(
        id=user_id,
        email=Email(f"bench-{user_id.hex[:12]}@example.com"),
        password_hash="$2b$04$" + "a" * 53,
        name="Ada Lovelace",
        role=Role.USER,
        is_active=True,
        is_verified=True,
        created_at=now - timedelta(days=1),
        updated_at=now - timedelta(days=1),
    )


async def _patch(database: Database, user: User, serial: int) -> None:
    async with database.unit_of_work() as uow:
        edited = uow.users.track(user)
        edited.rename(f"Ada {serial}", datetime.now(UTC))
        await uow.users.save(edited)
        await uow.commit()
    user.rename(edited.name, edited.updated_at)


async def _get_and_patch(database: Database, user: User, serial: int) -> None:
    async with database.unit_of_work() as uow:
        stored = await uow.users.get(user.id)
        assert stored is not None
        stored.rename(f"Ada {serial}", datetime.now(UTC))
        await uow.users.save(stored)
        await uow.commit()


Workload = Callable[[Database, User, int], Awaitable[None]]
WORKLOADS: dict[str, Workload] = {"patch": _patch, "get+patch": _get_and_patch}


async def _measure(database: Database, user: User, units: int, rounds: int) -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, CountingLoop)
    for name, workload in WORKLOADS.items():
        for serial in range(50):  # warm: the pool's connections, the statement cache
            await workload(database, user, serial)
        cpu_figures: list[float] = []
        for _ in range(rounds):
            loop.wakeups = 0
            cpu, wall = time.process_time(), time.perf_counter()
            for serial in range(units):
                await workload(database, user, serial)
            cpu = (time.process_time() - cpu) / units * 1e6
            wall = (time.perf_counter() - wall) / units * 1e6
            cpu_figures.append(cpu)
            print(
                f"{name:>10}: {cpu:7.1f} µs CPU, {wall:7.1f} µs wall, "
                f"{loop.wakeups / units:4.1f} hand-offs per unit of work"
            )
        print(
            f"{name:>10}: median {statistics.median(cpu_figures):.1f} µs CPU "
            f"(min {min(cpu_figures):.1f}, max {max(cpu_figures):.1f}) over {rounds} rounds"
        )


async def _run(url: str, units: int, rounds: int) -> None:
    database = Database(url)
    await database.open()
    try:
        user = _user()
        async with database.unit_of_work() as uow:
            await uow.users.add(user)
            await uow.commit()
        await _measure(database, user, units, rounds)
    finally:
        await database.aclose()


def main(arguments: list[str]) -> None:
    units = int(arguments[0]) if arguments else DEFAULT_UNITS
    rounds = int(arguments[1]) if len(arguments) > 1 else DEFAULT_ROUNDS
    with tempfile.TemporaryDirectory(prefix="portcullis-uow-") as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        upgrade_to_head(url)
        with asyncio.Runner(loop_factory=CountingLoop) as runner:
            runner.run(_run(url, units, rounds))


if __name__ == "__main__":
    main(sys.argv[1:])

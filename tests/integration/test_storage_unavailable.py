"""A database that does not answer is StorageUnavailable (a 503 upstream), never a raw driver
error. The unreachable-PostgreSQL cases need only asyncpg, no running server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.engine import create_engine
from adapters.persistence.unit_of_work import SqlAlchemyDatabaseProbe, SqlAlchemyUnitOfWork
from application.errors import StorageUnavailable
from tests.databases import sqlite_url

CLOSED_PORT_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/test"


@pytest.fixture(params=["postgres-closed-port", "sqlite-path-is-a-directory"])
async def unreachable_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    url = CLOSED_PORT_URL if request.param.startswith("postgres") else sqlite_url(tmp_path)
    engine = create_engine(url)
    yield engine
    await engine.dispose()


async def test_the_probe_reports_an_unreachable_database_as_unavailable(
    unreachable_engine: AsyncEngine,
) -> None:
    with pytest.raises(StorageUnavailable):
        await SqlAlchemyDatabaseProbe(unreachable_engine).ping()


async def test_entering_a_unit_of_work_on_an_unreachable_database_is_unavailable(
    unreachable_engine: AsyncEngine,
) -> None:
    uow = SqlAlchemyUnitOfWork(unreachable_engine)

    with pytest.raises(StorageUnavailable):
        await uow.__aenter__()


async def test_nothing_runs_inside_a_unit_of_work_that_could_not_start(
    unreachable_engine: AsyncEngine,
) -> None:
    reached = False

    async def use() -> None:
        nonlocal reached
        async with SqlAlchemyUnitOfWork(unreachable_engine):
            reached = True

    with pytest.raises(StorageUnavailable):
        await use()
    assert not reached


async def test_the_probe_returns_quietly_when_the_database_answers(engine: AsyncEngine) -> None:
    await SqlAlchemyDatabaseProbe(engine).ping()


@pytest.mark.postgres
async def test_a_connection_lost_inside_a_unit_of_work_is_unavailable(
    request: pytest.FixtureRequest,
) -> None:
    url: str = request.getfixturevalue("postgres_database")
    engine = create_engine(url)
    try:

        async def lose_the_connection_midway() -> None:
            async with SqlAlchemyUnitOfWork(engine) as uow:
                await uow.signing_keys.list()  # the connection works
                await _terminate_other_connections(url)
                await uow.signing_keys.list()

        with pytest.raises(StorageUnavailable):
            await lose_the_connection_midway()

        await SqlAlchemyDatabaseProbe(engine).ping()  # the pool recovers by itself
    finally:
        await engine.dispose()


async def _terminate_other_connections(url: str) -> None:
    """What a database restart or failover does to the connections it had."""
    database = make_url(url)
    dsn = database.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            database.database,
        )
    finally:
        await connection.close()

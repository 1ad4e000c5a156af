"""A database that does not answer is StorageUnavailable (a 503 upstream, a retry at start-up),
never a raw driver error. The unreachable cases need only asyncpg, no running server; the cases
where a running PostgreSQL turns the connection away need one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.authenticated_users import create_authenticated_user_reader
from adapters.persistence.engine import create_engine
from adapters.persistence.unit_of_work import SqlAlchemyDatabaseProbe, SqlAlchemyUnitOfWork
from application.errors import StorageUnavailable
from tests.databases import (
    create_postgres_database,
    drop_postgres_database,
    postgres_url_or_skip,
    run_isolated,
    sqlite_url,
)

CLOSED_PORT_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/test"


async def _execute(url: str, statement: str, *arguments: Any) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement, *arguments)
    finally:
        await connection.close()


@contextmanager
def refusing_postgres(reason: str) -> Iterator[str]:
    """A running PostgreSQL that turns the connection away, for the reason given."""
    admin_url = make_url(postgres_url_or_skip())
    suffix = uuid.uuid4().hex[:12]
    if reason == "no-such-database":
        yield admin_url.set(database=f"missing_{suffix}").render_as_string(hide_password=False)
    elif reason == "no-such-role":
        yield admin_url.set(username=f"nobody_{suffix}").render_as_string(hide_password=False)
    else:  # closed for maintenance, as during a restore: even a superuser is turned away
        admin = admin_url.render_as_string(hide_password=False)
        url = create_postgres_database(admin)
        name = make_url(url).database
        run_isolated(_execute(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        try:
            yield url
        finally:
            drop_postgres_database(admin, url)


@pytest.fixture(
    params=[
        "closed-port",
        "sqlite-path-is-a-directory",
        *(
            pytest.param(reason, marks=pytest.mark.postgres)
            for reason in ["no-such-database", "no-such-role", "not-accepting-connections"]
        ),
    ]
)
async def unreachable_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    with ExitStack() as stack:
        if request.param == "closed-port":
            url = CLOSED_PORT_URL
        elif request.param == "sqlite-path-is-a-directory":
            url = sqlite_url(tmp_path)
        else:
            url = stack.enter_context(refusing_postgres(request.param))
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


async def test_authenticating_against_an_unreachable_database_is_unavailable(
    unreachable_engine: AsyncEngine,
) -> None:
    """Through the reader the service picks for this URL (the threaded one for SQLite)."""
    url = unreachable_engine.url.render_as_string(hide_password=False)
    reader = create_authenticated_user_reader(url)
    try:
        with pytest.raises(StorageUnavailable):
            await reader.find(uuid.uuid4(), uuid.uuid4(), datetime.now(UTC))
    finally:
        await reader.aclose()


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
                # What a database restart or failover does to the connections it had:
                await _execute(
                    url,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()",
                    make_url(url).database,
                )
                await uow.signing_keys.list()

        with pytest.raises(StorageUnavailable):
            await lose_the_connection_midway()

        await SqlAlchemyDatabaseProbe(engine).ping()  # the pool recovers by itself
    finally:
        await engine.dispose()


async def test_a_pool_with_every_connection_busy_is_unavailable_not_a_crash(
    sqlite_database_url: str,
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork
    from application.errors import StorageUnavailable
    from domain.email import Email

    engine = create_async_engine(sqlite_database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        async with SqlAlchemyUnitOfWork(engine) as holding:
            await holding.users.get_by_email(Email("nobody@example.com"))
            with pytest.raises(StorageUnavailable):
                async with SqlAlchemyUnitOfWork(engine):
                    pass
    finally:
        await engine.dispose()

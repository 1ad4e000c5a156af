"""A database that does not answer is StorageUnavailable (a 503 upstream, a retry at start-up),
never a raw driver error. The unreachable cases need only asyncpg, no running server; the cases
where a running PostgreSQL turns the connection away need one."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from adapters.persistence.database import SQLITE_POOL_SIZE, Database
from application.errors import StorageUnavailable
from domain.email import Email
from tests.databases import (
    create_postgres_database,
    drop_postgres_database,
    postgres_url_or_skip,
    run_isolated,
    sqlite_url,
)
from tests.integration.conftest import sql_only

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
async def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    with ExitStack() as stack:
        if request.param == "closed-port":
            url = CLOSED_PORT_URL
        elif request.param == "sqlite-path-is-a-directory":
            url = sqlite_url(tmp_path)
        else:
            url = stack.enter_context(refusing_postgres(request.param))
        database = Database(url)
        yield database
        await database.aclose()


async def test_the_probe_reports_an_unreachable_database_as_unavailable(
    unreachable: Database,
) -> None:
    with pytest.raises(StorageUnavailable):
        await unreachable.ping()


async def test_entering_a_unit_of_work_on_an_unreachable_database_is_unavailable(
    unreachable: Database,
) -> None:
    uow = unreachable.unit_of_work()

    with pytest.raises(StorageUnavailable):
        await uow.__aenter__()


async def test_nothing_runs_inside_a_unit_of_work_that_could_not_start(
    unreachable: Database,
) -> None:
    reached = False

    async def use() -> None:
        nonlocal reached
        async with unreachable.unit_of_work():
            reached = True

    with pytest.raises(StorageUnavailable):
        await use()
    assert not reached


async def test_authenticating_against_an_unreachable_database_is_unavailable(
    unreachable: Database,
) -> None:
    """Through the reader the service uses for this URL (the threaded one for SQLite)."""
    with pytest.raises(StorageUnavailable):
        await unreachable.authenticated_users.find(uuid.uuid4(), uuid.uuid4(), datetime.now(UTC))


@sql_only
async def test_the_probe_returns_quietly_when_the_database_answers(database: Database) -> None:
    await database.ping()


@pytest.mark.postgres
async def test_a_connection_lost_inside_a_unit_of_work_is_unavailable(
    request: pytest.FixtureRequest,
) -> None:
    url: str = request.getfixturevalue("postgres_database")
    database = Database(url)
    try:

        async def lose_the_connection_midway() -> None:
            async with database.unit_of_work() as uow:
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

        await database.ping()  # the pool recovers by itself
    finally:
        await database.aclose()


async def test_a_pool_with_every_connection_busy_is_unavailable_not_a_crash(
    sqlite_database_url: str,
) -> None:
    database = Database(sqlite_database_url, pool_timeout=0.2)
    try:
        async with contextlib.AsyncExitStack() as every_connection_held:
            for _ in range(SQLITE_POOL_SIZE):
                holding = await every_connection_held.enter_async_context(database.unit_of_work())
                await holding.users.get_by_email(Email("nobody@example.com"))
            with pytest.raises(StorageUnavailable):
                async with database.unit_of_work():
                    pass
    finally:
        await database.aclose()

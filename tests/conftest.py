from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.persistence.database import Database
from tests.databases import (
    SQL_BACKENDS,
    copy_sqlite,
    create_postgres_database,
    drop_postgres_database,
    migrate,
    postgres_url_or_skip,
    sqlite_url,
    truncate_postgres,
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate(sqlite_url(path))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of this run's own, migrated once, dropped at the end."""
    admin_url = postgres_url_or_skip()
    url = create_postgres_database(admin_url)
    try:
        migrate(url)
        yield url
    finally:
        drop_postgres_database(admin_url, url)


@pytest.fixture
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    return copy_sqlite(sqlite_template, tmp_path / "portcullis.db")


@pytest.fixture(params=SQL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Where the test's data lives: SQLite, then PostgreSQL. The adapter tests add a third."""
    param: str = request.param
    return param


@pytest.fixture
async def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    """An empty, migrated database: run once on SQLite and once on PostgreSQL."""
    if backend == "sqlite":
        sqlite: str = request.getfixturevalue("sqlite_database_url")
        return sqlite
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_database")
        await truncate_postgres(url)
        return url
    pytest.fail(
        f"the {backend} backend has no database: a test reaching beneath the ports is sql_only"
    )


@pytest.fixture(params=SQL_BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even migrations: a new SQLite file, or a PostgreSQL
    database of this test's own (never the shared one), dropped afterwards."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "empty.db")
        return
    admin_url = postgres_url_or_skip()
    url = create_postgres_database(admin_url)
    try:
        yield url
    finally:
        drop_postgres_database(admin_url, url)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.aclose()

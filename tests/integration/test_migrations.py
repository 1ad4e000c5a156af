"""Alembic migrations on an empty database, both ways, and the schema they build against the
tables the repositories use. Each test gets a database of its own (see `empty_database_url`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar
from uuid import UUID

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, MetaData, String, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.database import Database
from adapters.persistence.tables import metadata
from alembic import command
from domain.session import SessionKind
from entrypoints.migrations import alembic_config, downgrade_to_base, upgrade_to_head
from tests.databases import sqlite_url
from tests.integration.builders import (
    NOW,
    a_grant,
    a_session,
    a_user,
    an_authorization_code,
    an_oauth_client,
    an_oauth_session,
)

T = TypeVar("T")

APPLICATION_TABLES = set(metadata.tables)  # every table the repositories use


async def in_thread(migration: Callable[[str], None], database_url: str) -> None:
    """Alembic's async env.py calls asyncio.run, so it runs away from the tests' loop."""
    await asyncio.to_thread(migration, database_url)


class InspectDatabase(Protocol):
    async def __call__(self, function: Callable[[Connection], T]) -> T: ...


@pytest.fixture
async def inspect_database(empty_database_url: str) -> AsyncIterator[InspectDatabase]:
    """Run a function on a sync connection to the test's database, on a fresh connection."""
    database = Database(empty_database_url)
    engine: AsyncEngine = database.engine

    async def run(function: Callable[[Connection], T]) -> T:
        async with engine.connect() as connection:
            return await connection.run_sync(function)

    yield run
    await database.aclose()


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def schema_snapshot(connection: Connection) -> dict[str, dict[str, list[Any]]]:
    """Every table with its columns, indexes and constraints, comparable between two moments."""
    inspector = inspect(connection)
    return {
        table: {
            "columns": sorted(
                (column["name"], str(column["type"]), column["nullable"])
                for column in inspector.get_columns(table)
            ),
            "primary_key": sorted(inspector.get_pk_constraint(table)["constrained_columns"]),
            "indexes": sorted(str(index["name"]) for index in inspector.get_indexes(table)),
            "unique": sorted(
                str(unique["name"]) for unique in inspector.get_unique_constraints(table)
            ),
            "foreign_keys": sorted(str(key["name"]) for key in inspector.get_foreign_keys(table)),
        }
        for table in sorted(inspector.get_table_names())
        if table != "alembic_version"
    }


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def schema_drift(connection: Connection, target: MetaData = metadata) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": _not_postgresql_only,
        },
    )
    return list(compare_metadata(context, target))


def _not_postgresql_only(  # Alembic's include_object signature: name and type decide here
    _object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    # The trigram indexes exist on PostgreSQL only (pg_trgm); migration 0004 makes them there.
    return not (type_ == "index" and name is not None and name.endswith("_trgm"))


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("unused://")).get_current_head()
    assert head is not None
    return head


async def test_an_empty_database_upgrades_to_head_downgrades_to_base_and_upgrades_again(
    empty_database_url: str, inspect_database: InspectDatabase
) -> None:
    assert await inspect_database(table_names) == set()

    await in_thread(upgrade_to_head, empty_database_url)
    assert await inspect_database(table_names) == APPLICATION_TABLES | {"alembic_version"}
    assert await inspect_database(current_revision) == head_revision()
    schema_at_head = await inspect_database(schema_snapshot)

    await in_thread(downgrade_to_base, empty_database_url)
    assert await inspect_database(table_names) == {"alembic_version"}
    assert await inspect_database(current_revision) is None

    await in_thread(upgrade_to_head, empty_database_url)
    assert await inspect_database(table_names) == APPLICATION_TABLES | {"alembic_version"}
    assert await inspect_database(current_revision) == head_revision()
    assert await inspect_database(schema_snapshot) == schema_at_head
    assert await inspect_database(schema_drift) == []


async def test_upgrading_a_database_already_at_head_changes_nothing(
    empty_database_url: str, inspect_database: InspectDatabase
) -> None:
    await in_thread(upgrade_to_head, empty_database_url)
    await in_thread(upgrade_to_head, empty_database_url)

    assert await inspect_database(current_revision) == head_revision()
    assert await inspect_database(schema_drift) == []


async def test_the_schema_at_head_is_exactly_the_tables_the_repositories_use(
    empty_database_url: str, inspect_database: InspectDatabase
) -> None:
    await in_thread(upgrade_to_head, empty_database_url)

    assert await inspect_database(schema_drift) == []


async def test_every_revision_steps_down_and_up_again(
    empty_database_url: str, inspect_database: InspectDatabase
) -> None:
    """The stairway: each migration's downgrade undoes exactly its upgrade, one at a time."""
    config = alembic_config(empty_database_url)
    revisions = list(reversed(list(ScriptDirectory.from_config(config).walk_revisions())))
    assert revisions, "no migrations found"

    for revision in revisions:
        previous = revision.down_revision
        assert previous is None or isinstance(previous, str), "a merge: step through by hand"
        schema_before = await inspect_database(schema_snapshot)
        await asyncio.to_thread(command.upgrade, config, revision.revision)
        schema_after = await inspect_database(schema_snapshot)
        assert schema_after != schema_before, f"{revision.revision} changes nothing"

        await asyncio.to_thread(command.downgrade, config, previous or "base")
        assert await inspect_database(current_revision) == previous
        assert await inspect_database(schema_snapshot) == schema_before

        await asyncio.to_thread(command.upgrade, config, revision.revision)
        assert await inspect_database(current_revision) == revision.revision
        assert await inspect_database(schema_snapshot) == schema_after

    assert await inspect_database(schema_drift) == []


async def test_the_drift_check_notices_a_column_the_migrations_do_not_create(
    empty_database_url: str, inspect_database: InspectDatabase
) -> None:
    """Keeps the drift tests honest: the comparison they rely on does see a difference."""
    await in_thread(upgrade_to_head, empty_database_url)
    drifted = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["users"].append_column(Column("nickname", String(50), nullable=True))

    differences = await inspect_database(lambda connection: schema_drift(connection, drifted))

    assert [(kind, column.name) for kind, _, _, column in differences] == [
        ("add_column", "nickname")
    ]


async def test_migrating_sqlite_creates_the_databases_directory(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there" / "portcullis.db"

    await in_thread(upgrade_to_head, sqlite_url(path))

    assert path.is_file()


async def test_upgrading_keeps_the_rows_of_tables_that_refer_to_a_rebuilt_one(
    empty_database_url: str, inspect_database: InspectDatabase
) -> None:
    """SQLite changes a table's constraints by copying it into a new table and dropping the
    old one; with foreign keys enforced, that drop would delete every row that refers to it
    (here, the rotated refresh tokens of each session)."""
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "0009")

    def insert_a_session_with_a_rotated_token(connection: Connection) -> None:
        for statement in (
            "INSERT INTO users (id, email, password_hash, role, is_active, is_verified,"
            " created_at, updated_at) VALUES ('00000000000000000000000000000001',"
            " 'ada@example.com', 'x', 'user', true, true, '2026-01-01', '2026-01-01')",
            "INSERT INTO sessions (id, user_id, refresh_token_hash, created_at, last_used_at,"
            " expires_at) VALUES ('00000000000000000000000000000002',"
            " '00000000000000000000000000000001', 'new', '2026-01-01', '2026-01-01', '2027-01-01')",
            "INSERT INTO rotated_refresh_tokens (token_hash, session_id, rotated_at)"
            " VALUES ('old', '00000000000000000000000000000002', '2026-01-01')",
        ):
            connection.exec_driver_sql(statement)
        connection.commit()

    await inspect_database(insert_a_session_with_a_rotated_token)
    await in_thread(upgrade_to_head, empty_database_url)

    def rotated_tokens(connection: Connection) -> list[str]:
        rows = connection.exec_driver_sql("SELECT token_hash FROM rotated_refresh_tokens")
        return [row[0] for row in rows]

    assert await inspect_database(rotated_tokens) == ["old"]


async def test_downgrading_below_oauth_sessions_ends_them_with_their_rotated_tokens(
    empty_database_url: str, inspect_database: InspectDatabase
) -> None:
    """Without their scopes and the browser session they live within, OAuth sessions would
    outlive what bound them: the downgrade ends them, and on SQLite (migrated with foreign keys
    off) it must not leave their rotated tokens pointing nowhere."""
    await in_thread(upgrade_to_head, empty_database_url)
    user, client = a_user(), an_oauth_client()
    browser = a_session(user, kind=SessionKind.BROWSER)
    bound = an_oauth_session(user, client, parent_session_id=browser.id)
    database = Database(empty_database_url)
    try:
        async with database.unit_of_work() as uow:
            await uow.users.add(user)
            await uow.oauth_clients.add(client)
            for session in (browser, bound):
                await uow.sessions.add(session)
            await uow.oauth_codes.add(an_authorization_code(user, client, browser))
            await uow.oauth_grants.upsert(a_grant(user, client))
            await uow.sessions.rotate_refresh_token(
                bound.refresh_token_hash, "r" * 64, NOW, SessionKind.OAUTH
            )
            await uow.commit()
    finally:
        await database.aclose()

    await asyncio.to_thread(command.downgrade, alembic_config(empty_database_url), "0010")

    def sessions_and_rotated_tokens(connection: Connection) -> tuple[list[str], int]:
        ids = connection.exec_driver_sql("SELECT id FROM sessions").scalars()
        rotated = connection.exec_driver_sql("SELECT count(*) FROM rotated_refresh_tokens")
        return [str(UUID(str(i))) for i in ids], rotated.scalar_one()

    assert await inspect_database(sessions_and_rotated_tokens) == ([str(browser.id)], 0)

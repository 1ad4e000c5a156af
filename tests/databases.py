"""Real databases for tests: a migrated SQLite file per test, and one PostgreSQL database per
run (created and dropped here) so concurrent runs never see each other's rows."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import make_url

from entrypoints.migrations import upgrade_to_head

T = TypeVar("T")

POSTGRES_URL_VARIABLE = "PORTCULLIS_TEST_POSTGRES_URL"
SQL_BACKENDS = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))
TABLES = (
    "login_failures",
    "audit_events",
    "outbox_messages",
    "one_time_tokens",
    "invitations",
    "webauthn_challenges",
    "oauth_codes",
    "oauth_grants",
    "rotated_refresh_tokens",
    "sessions",
    "users",
    "signing_keys",
    "oauth_clients",
    "webhooks",
    "webhook_events",
)


def run_isolated(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on its own loop in a thread, away from the tests' running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def postgres_url_or_skip() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url:
        return url
    message = f"{POSTGRES_URL_VARIABLE} is not set: PostgreSQL tests need a server"
    if os.environ.get("CI"):
        pytest.fail(message + " (in CI it must be)")
    pytest.skip(message)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_postgres_database(admin_url: str) -> str:
    name = f"portcullis_test_{uuid.uuid4().hex[:12]}"
    run_isolated(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    run_isolated(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def truncate_postgres(database_url: str) -> None:
    await _admin(database_url, f"TRUNCATE {', '.join(TABLES)} CASCADE")


def migrate(database_url: str) -> None:
    # Alembic's env.py runs its own event loop, so it must not run on the tests' loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(upgrade_to_head, database_url).result()


def copy_sqlite(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return sqlite_url(target)

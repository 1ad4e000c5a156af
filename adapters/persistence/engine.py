"""Building the async engine, with the SQLite settings that make several writers wait, not fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_SECONDS = 5
SQLITE_POOL_SIZE = 4


def create_engine(
    database_url: str, *, pool_size: int = 20, statement_timeout: float | None = None
) -> AsyncEngine:
    """`statement_timeout` bounds each PostgreSQL statement (the service passes one, so a
    network that freezes without closing answers 503, not a hang; migrations pass none)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        ensure_sqlite_directory(database_url)
        engine = create_async_engine(
            url,
            hide_parameters=True,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            # Each aiosqlite connection is a thread of its own, and SQLite runs one writer at a
            # time anyway: a few connections, kept rather than churned (issue 7's profile).
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=0,
        )
        event.listen(engine.sync_engine, "connect", configure_sqlite_connection)
        return engine
    return create_async_engine(
        url,
        hide_parameters=True,  # never put values (hashes, tokens) into error messages
        # asyncpg would wait 60 s for a host that never answers; fail fast and answer 503.
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS, "command_timeout": statement_timeout},
        pool_size=pool_size,
        # No overflow: a connection opened for a burst and closed right after costs PostgreSQL
        # a process and the client a handshake (issue 7's profile: 5 % of an authenticated GET
        # with 10 + 10 under 32 concurrent requests). Waiting a moment for a pooled one is cheaper.
        max_overflow=0,
        pool_timeout=10,
    )


def ensure_sqlite_directory(database_url: str) -> None:
    database = make_url(database_url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLite's own lower() folds ASCII letters only; the user list's `q` must match a name in
    # any case ("ZOË" for "zoë"), as PostgreSQL's does.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: object) -> str | None:
    return None if value is None else str(value).lower()

"""The one persistence adapter. It owns the engine, the connection string and its variants per
driver, the timeouts, the mapping of driver errors to application errors, and shutdown. Its
write side is the unit of work with its repositories; its read side, the reads made on every
request of a kind: the authenticated user, and introspection's."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from adapters.persistence.authenticated_users import SqlAuthenticatedUserReader
from adapters.persistence.errors import is_unavailable
from adapters.persistence.fast_reads import FastReads, PooledAsyncpgReads, ThreadedSqliteReads
from adapters.persistence.introspection import SqlIntrospectionReader
from adapters.persistence.sqlite_driver import one_hand_off_dbapi
from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork
from adapters.security.secret_sealer import PlainSecretSealer
from application.errors import StorageUnavailable
from application.ports.persistence import AuthenticatedUserReader, IntrospectionReader
from application.ports.security import SecretSealer

SQLITE_BUSY_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_SECONDS = 5
# Each aiosqlite connection is a thread of its own, and SQLite runs one writer at a time anyway:
# a few connections, kept rather than churned.
SQLITE_POOL_SIZE = 4
DEFAULT_POOL_SIZE = 20
POOL_TIMEOUT_SECONDS = 10


class Database:
    """`pool_size` is PostgreSQL's; SQLite keeps a few connections whatever it says.
    `sealer` seals and opens the secret columns (private keys, TOTP secrets).
    `statement_timeout` bounds each PostgreSQL statement, so that a network that freezes
    without closing answers 503 instead of hanging a request; migrations pass none."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_timeout: float = POOL_TIMEOUT_SECONDS,
        statement_timeout: float | None = None,
        sealer: SecretSealer | None = None,
    ) -> None:
        self.url = make_url(url)
        # What the repositories of sealed columns seal and open with; without one, secrets are
        # stored as they are.
        self.sealer: SecretSealer = sealer if sealer is not None else PlainSecretSealer()
        self.engine = _create_engine(self.url, pool_size, pool_timeout, statement_timeout)
        self.fast_reads: FastReads = (
            ThreadedSqliteReads(self._connect_sqlite)
            if self.is_sqlite
            else PooledAsyncpgReads(self)
        )
        dialect = self.engine.dialect
        self.authenticated_users: AuthenticatedUserReader = SqlAuthenticatedUserReader(
            self.fast_reads, dialect
        )
        self.introspection: IntrospectionReader = SqlIntrospectionReader(self.fast_reads, dialect)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    async def open(self) -> None:
        """Make the SQLite file's folder if it is missing (a new checkout, a new volume)."""
        if self.is_sqlite:
            await asyncio.to_thread(ensure_sqlite_directory, self.url)

    async def aclose(self) -> None:
        await self.fast_reads.aclose()
        await self.engine.dispose()

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self)

    async def connect(self) -> AsyncConnection:
        try:
            return await self.engine.connect()
        except Exception as error:
            if is_unavailable(error, connecting=True):
                raise StorageUnavailable() from error
            raise

    async def ping(self) -> None:
        connection = await self.connect()
        try:
            await connection.execute(text("SELECT 1"))
        except Exception as error:
            if is_unavailable(error):
                raise StorageUnavailable() from error
            raise
        finally:
            await close_quietly(connection)

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """A connection of the engine's pool as its driver's own object (asyncpg's
        `Connection`), for one statement that needs none of SQLAlchemy's execution."""
        pool = self.engine.sync_engine.pool
        try:
            pooled = await greenlet_spawn(pool.connect)
        except Exception as error:
            if is_unavailable(error, connecting=True):
                raise StorageUnavailable() from error
            raise
        try:
            yield pooled.driver_connection
        except BaseException as error:
            # Whatever broke the statement (a lost server, a cancelled request) may have left
            # the connection mid-protocol: it is closed, never handed to the next caller.
            await greenlet_spawn(pooled.invalidate)
            if isinstance(error, Exception) and is_unavailable(error):
                raise StorageUnavailable() from error
            raise
        else:
            await greenlet_spawn(pooled.close)

    def _connect_sqlite(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.url.database or "",
            timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # autocommit: a read never holds a transaction open
            # Used by one thread only; a test attaches a statement tracer from another.
            check_same_thread=False,
        )
        try:
            configure_sqlite_connection(connection, None)
        except sqlite3.Error:
            connection.close()
            raise
        return connection


def _create_engine(
    url: URL, pool_size: int, pool_timeout: float, statement_timeout: float | None
) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url,
            module=one_hand_off_dbapi(),  # one hand-off to the connection's thread a statement
            hide_parameters=True,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=0,
            pool_timeout=pool_timeout,
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
        # a process and the client a handshake; waiting a moment for a pooled one is cheaper.
        max_overflow=0,
        pool_timeout=pool_timeout,
    )


def ensure_sqlite_directory(url: URL | str) -> None:
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return
    database = url.database
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


async def close_quietly(connection: AsyncConnection) -> None:
    try:
        await connection.close()
    except Exception as error:
        if not is_unavailable(error):
            raise

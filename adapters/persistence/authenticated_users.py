"""The read behind every authenticated request: the user of a live session, in one statement
and outside any unit of work (issue 7: it is most of what an authenticated GET costs).

SQLAlchemy writes the statement and converts its parameters and its row (the public
`bind_processor` / `result_processor` of each column's type), so both readers mean exactly
what the repositories mean; the driver alone runs it. Measured with 32 requests in flight,
SQLAlchemy's own execution path cost more than the read itself: about 290 us of CPU a read
on PostgreSQL against 70 us for asyncpg alone, and on SQLite, aiosqlite hands each step of a
statement (cursor, execute, fetch, close, rollback) to its thread one at a time."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Dialect, make_url

from adapters.persistence.engine import (
    CONNECT_TIMEOUT_SECONDS,
    SQLITE_BUSY_TIMEOUT_MS,
    configure_sqlite_connection,
)
from adapters.persistence.errors import is_unavailable_to_asyncpg
from adapters.persistence.tables import sessions, users
from adapters.persistence.users import user_from_mapping
from application.errors import StorageUnavailable
from application.ports.persistence import AuthenticatedUserReader
from domain.user import User

AUTHENTICATED_USER = (
    select(users)
    .join(sessions, sessions.c.user_id == users.c.id)
    .where(
        sessions.c.id == bindparam("session_id"),
        sessions.c.user_id == bindparam("user_id"),
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > bindparam("now"),
        users.c.is_active.is_(True),
    )
)

# PostgreSQL connections each worker keeps for these reads, beside PORTCULLIS_DATABASE_POOL_SIZE:
# a read takes a fraction of a millisecond, so a few serve thousands a second.
AUTH_READ_POOL_SIZE = 4

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class CompiledRead:
    """AUTHENTICATED_USER for one dialect: its SQL, and SQLAlchemy's conversions both ways."""

    sql: str
    binds: list[tuple[str, Processor]]
    columns: list[tuple[str, Processor]]

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> CompiledRead:
        compiled = AUTHENTICATED_USER.compile(dialect=dialect)
        names = compiled.positiontup or []
        return cls(
            sql=str(compiled),
            binds=[
                (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                for name in names
            ],
            columns=[
                (column.name, column.type.dialect_impl(dialect).result_processor(dialect, None))
                for column in AUTHENTICATED_USER.selected_columns
            ],
        )

    def parameters(self, session_id: UUID, user_id: UUID, now: datetime) -> list[Any]:
        values = {"session_id": session_id, "user_id": user_id, "now": now}
        return [convert(values[name]) if convert else values[name] for name, convert in self.binds]

    def user(self, row: Sequence[Any]) -> User:
        return user_from_mapping(
            {
                name: convert(value) if convert else value
                for (name, convert), value in zip(self.columns, row, strict=True)
            }
        )


class AsyncpgAuthenticatedUserReader:
    """PostgreSQL: asyncpg itself, from a small pool of the reader's own, one round trip with
    no transaction around it."""

    def __init__(self, database_url: str, *, statement_timeout: float | None) -> None:
        url = make_url(database_url)
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._statement_timeout = statement_timeout
        self._read = CompiledRead.for_dialect(url.get_dialect()())
        self._pool: Any = None  # asyncpg.Pool, made by the first read (it needs the loop)
        self._opening = asyncio.Lock()

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        parameters = self._read.parameters(session_id, user_id, now)
        pool = self._pool or await self._open()
        connecting = True  # the pool opens connections as they are first needed
        try:
            async with pool.acquire() as connection:
                connecting = False
                row = await connection.fetchrow(self._read.sql, *parameters)
        except Exception as error:
            if is_unavailable_to_asyncpg(error, connecting=connecting):
                raise StorageUnavailable() from error
            raise
        return self._read.user(row) if row else None

    async def _open(self) -> Any:
        async with self._opening:
            if self._pool is None:
                try:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=0,
                        max_size=AUTH_READ_POOL_SIZE,
                        timeout=CONNECT_TIMEOUT_SECONDS,
                        command_timeout=self._statement_timeout,
                        reset=_leave_as_is,
                    )
                except Exception as error:
                    if is_unavailable_to_asyncpg(error, connecting=True):
                        raise StorageUnavailable() from error
                    raise
            return self._pool

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _leave_as_is(_connection: Any) -> None:
    """asyncpg resets a connection on its way back to the pool (unlisten, reset settings, close
    cursors), a second round trip per read, issue 7's profile found. These connections run one
    SELECT outside any transaction and change nothing that would need resetting."""


Outcome = User | BaseException | None  # a user, no user, or the error to raise


@dataclass(frozen=True, slots=True)
class _Request:
    loop: asyncio.AbstractEventLoop
    answer: asyncio.Future[User | None]
    parameters: list[Any]


class ThreadedSqliteAuthenticatedUserReader:
    """SQLite: one thread of the reader's own, with one connection (set up as the async
    engine's are), answering in batches.

    Why one thread, and batches: a read takes tens of microseconds, but each hand-over between
    the event loop and a thread costs both more than that in wake-ups and GIL passing (issue
    7's profile; the loop's default pool of threads made it worse). Under load, the reads that
    queue while one runs are all answered together, with one wake-up of the loop. In WAL mode a
    reader never waits for a writer, so reads do not queue behind writes."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._path = url.database or ""
        self._read = CompiledRead.for_dialect(url.set(drivername="sqlite").get_dialect()())
        self._connection: sqlite3.Connection | None = None  # the thread's own
        self._requests: SimpleQueue[_Request | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="sqlite-auth-read", daemon=True)
        self._thread.start()

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[User | None] = loop.create_future()
        parameters = self._read.parameters(session_id, user_id, now)
        self._requests.put(_Request(loop, answer, parameters))
        return await answer

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            first = self._requests.get()
            batch = [] if first is None else [first]
            stopping = first is None
            with contextlib.suppress(Empty):
                while not stopping:
                    more = self._requests.get_nowait()
                    stopping = more is None
                    batch += [] if more is None else [more]
            outcomes = [(request, self._outcome(request.parameters)) for request in batch]
            for loop in {request.loop for request in batch}:
                # A loop closed meanwhile has no one left waiting; the others still are.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(
                        _settle, [(r.answer, o) for r, o in outcomes if r.loop is loop]
                    )
        if self._connection is not None:
            self._connection.close()

    def _outcome(self, parameters: list[Any]) -> Outcome:
        """Never raises: whatever goes wrong is the answer of that one read (the thread lives
        on for the others)."""
        try:
            row = self._open().execute(self._read.sql, parameters).fetchone()
            return self._read.user(row) if row else None
        except sqlite3.OperationalError as error:
            # Cannot open, locked past the busy timeout, disk gone: the next read reconnects.
            self._forget_connection()
            unavailable = StorageUnavailable()
            unavailable.__cause__ = error
            return unavailable
        except Exception as error:
            return error

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(
                self._path,
                timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # autocommit: a read never holds a transaction open
                # Only this thread uses it; a test hooks a statement counter onto it from another.
                check_same_thread=False,
            )
            try:
                configure_sqlite_connection(connection, None)
            except sqlite3.Error:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _forget_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None

    async def aclose(self) -> None:
        self._requests.put(None)
        await asyncio.to_thread(self._thread.join)


def _settle(outcomes: list[tuple[asyncio.Future[User | None], Outcome]]) -> None:
    """On the event loop: hand each waiting request its answer (unless it gave up waiting)."""
    for answer, outcome in outcomes:
        if answer.done():
            continue
        if isinstance(outcome, BaseException):
            answer.set_exception(outcome)
        else:
            answer.set_result(outcome)


def create_authenticated_user_reader(
    database_url: str, *, statement_timeout: float | None = None
) -> AsyncpgAuthenticatedUserReader | ThreadedSqliteAuthenticatedUserReader:
    """The reader for this database (the two the service runs on: SQLite files, PostgreSQL)."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return ThreadedSqliteAuthenticatedUserReader(database_url)
    return AsyncpgAuthenticatedUserReader(database_url, statement_timeout=statement_timeout)


if TYPE_CHECKING:  # mypy fails here the moment a reader stops fitting the port
    _readers: list[type[AuthenticatedUserReader]] = [
        AsyncpgAuthenticatedUserReader,
        ThreadedSqliteAuthenticatedUserReader,
    ]

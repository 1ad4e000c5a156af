"""The read behind every authenticated request: the active user of a live session, in one
statement, outside any unit of work.

SQLAlchemy writes the statement and converts its parameters and its row (each column type's
public `bind_processor` / `result_processor`), so the readers mean exactly what the repositories
mean; only the execution is the driver's, because SQLAlchemy's own execution path costs more than
the read itself. The README's "How a request flows" gives the figures."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Dialect

from adapters.persistence.errors import is_unavailable
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


class DriverConnections(Protocol):
    def driver_connection(self) -> AbstractAsyncContextManager[Any]:
        """A pooled connection's own driver object, for exactly the block."""


class PooledAsyncpgAuthenticatedUserReader:
    """PostgreSQL: asyncpg itself runs the statement, on a connection borrowed from the
    engine's pool: one round trip, no transaction around it."""

    def __init__(self, connections: DriverConnections, dialect: Dialect) -> None:
        self._connections = connections
        self._read = CompiledRead.for_dialect(dialect)

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        parameters = self._read.parameters(session_id, user_id, now)
        async with self._connections.driver_connection() as connection:
            row = await connection.fetchrow(self._read.sql, *parameters)
        return self._read.user(row) if row else None

    async def aclose(self) -> None:
        """Nothing of its own to release: the connections are the engine's."""


Outcome = User | BaseException | None  # a user, no user, or the error to raise


@dataclass(frozen=True, slots=True)
class _Request:
    loop: asyncio.AbstractEventLoop
    answer: asyncio.Future[User | None]
    parameters: list[Any]


class ThreadedSqliteAuthenticatedUserReader:
    """SQLite: one thread of the reader's own, with one connection, answering in batches.

    Why not a connection of the engine's pool: each aiosqlite call is a hand-over to that
    connection's thread and back, and borrowing one costs two more (the pool's check-out and
    its rollback on return), each dearer than the read itself. Here, the reads that queue while
    one runs are answered together, with one wake-up of the loop. In WAL mode a reader never
    waits for a writer, so reads do not queue behind writes."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], dialect: Dialect) -> None:
        self._connect = connect
        self._read = CompiledRead.for_dialect(dialect)
        self._connection: sqlite3.Connection | None = None  # the thread's own
        self._requests: SimpleQueue[_Request | None] = SimpleQueue()
        self._thread: threading.Thread | None = None  # started by the first read

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[User | None] = loop.create_future()
        parameters = self._read.parameters(session_id, user_id, now)
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._serve, name="sqlite-auth-read", daemon=True
            )
            self._thread.start()
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
        self._forget_connection()

    def _outcome(self, parameters: list[Any]) -> Outcome:
        """Never raises: whatever goes wrong is the answer of that one read (the thread lives
        on for the others)."""
        try:
            row = self._open().execute(self._read.sql, parameters).fetchone()
            return self._read.user(row) if row else None
        except Exception as error:
            if not is_unavailable(error):
                return error
            # Cannot open, locked past the busy timeout, disk gone: the next read reconnects.
            self._forget_connection()
            unavailable = StorageUnavailable()
            unavailable.__cause__ = error
            return unavailable

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _forget_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None

    async def aclose(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._requests.put(None)
            await asyncio.to_thread(thread.join)


def _settle(outcomes: list[tuple[asyncio.Future[User | None], Outcome]]) -> None:
    """On the event loop: hand each waiting request its answer (unless it gave up waiting)."""
    for answer, outcome in outcomes:
        if answer.done():
            continue
        if isinstance(outcome, BaseException):
            answer.set_exception(outcome)
        else:
            answer.set_result(outcome)


if TYPE_CHECKING:  # mypy fails here the moment a reader stops fitting the port
    _readers: list[type[AuthenticatedUserReader]] = [
        PooledAsyncpgAuthenticatedUserReader,
        ThreadedSqliteAuthenticatedUserReader,
    ]

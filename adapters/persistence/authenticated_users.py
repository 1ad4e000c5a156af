"""The read behind every authenticated request: the user of a live session, in one statement
and outside any unit of work (issue 7: it is most of what an authenticated GET costs)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from datetime import datetime
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from sqlalchemy import Engine, bindparam, event, select
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url

from adapters.persistence.engine import (
    CONNECT_TIMEOUT_SECONDS,
    SQLITE_BUSY_TIMEOUT_MS,
    configure_sqlite_connection,
)
from adapters.persistence.errors import is_unavailable, is_unavailable_to_asyncpg
from adapters.persistence.tables import sessions, users
from adapters.persistence.users import user_from_mapping, user_from_row
from application.errors import StorageUnavailable
from application.ports.persistence import AuthenticatedUserReader
from domain.user import User

# Built once: SQLAlchemy then only looks its compiled form up, rather than building the
# expression and its cache key again for every request.
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


# Connections each worker keeps for these reads, beside PORTCULLIS_DATABASE_POOL_SIZE: a read
# takes a fraction of a millisecond, so a few serve thousands a second.
AUTH_READ_POOL_SIZE = 4


def _parameters(session_id: UUID, user_id: UUID, now: datetime) -> dict[str, Any]:
    return {"session_id": session_id, "user_id": user_id, "now": now}


class AsyncpgAuthenticatedUserReader:
    """PostgreSQL: the statement SQLAlchemy compiles above, run by asyncpg itself from a small
    pool of the reader's own, one round trip with no transaction around it.

    Why not through SQLAlchemy's async engine like everything else: measured with 32 reads in
    flight, its execution path (greenlet bridge, execution context, result machinery) cost
    about 290 us of CPU per read against 70 us for asyncpg alone, and this read is most of
    what an authenticated request costs (issue 7). The SQL, its parameters and the row's
    meaning still come from the table definitions."""

    def __init__(self, database_url: str, *, statement_timeout: float | None) -> None:
        url = make_url(database_url)
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._statement_timeout = statement_timeout
        compiled = AUTHENTICATED_USER.compile(dialect=url.get_dialect()())
        self._sql = str(compiled)
        self._order = list(compiled.positiontup or [])
        self._pool: Any = None  # asyncpg.Pool, made by the first read (it needs the loop)
        self._opening = asyncio.Lock()

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        parameters = _parameters(session_id, user_id, now)
        pool = self._pool or await self._open()
        connecting = True  # the pool opens connections as they are first needed
        try:
            async with pool.acquire() as connection:
                connecting = False
                record = await connection.fetchrow(
                    self._sql, *(parameters[name] for name in self._order)
                )
        except Exception as error:
            if is_unavailable_to_asyncpg(error, connecting=connecting):
                raise StorageUnavailable() from error
            raise
        return user_from_mapping(record) if record else None

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


class ThreadedSqliteAuthenticatedUserReader:
    """SQLite through aiosqlite hands each step of a statement (cursor, execute, fetch, close,
    and the rollback on return) to its thread one at a time, about 0.5 ms a read. Here reads go
    to one thread of the reader's own, through SQLAlchemy's synchronous driver on the same file
    (set up as the async engine's connections are), and come back in batches.

    Why one thread, and batches: a read takes tens of microseconds, but each hand-over between
    the event loop and a thread costs both of them more than that in wake-ups and GIL passing
    (issue 7's profile; the loop's default pool of threads made it worse). Under load, the
    reads that queue while one runs are all answered together, with one wake-up of the loop.
    In WAL mode a reader never waits for a writer, so reads do not queue behind writes."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="sqlite")
        self._engine: Engine = create_sync_engine(
            url,
            hide_parameters=True,
            pool_size=1,
            max_overflow=0,
            # Made in the reader's thread, but closed by dispose() from another.
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        event.listen(self._engine, "connect", configure_sqlite_connection)
        self._requests: SimpleQueue[_Request | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="sqlite-auth-read", daemon=True)
        self._thread.start()

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[User | None] = loop.create_future()
        self._requests.put(_Request(loop, answer, _parameters(session_id, user_id, now)))
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
                loop.call_soon_threadsafe(
                    _settle, [(r.answer, o) for r, o in outcomes if r.loop is loop]
                )

    def _outcome(self, parameters: dict[str, Any]) -> Outcome:
        try:
            with self._engine.connect() as connection:
                row = connection.execute(AUTHENTICATED_USER, parameters).first()
        except Exception as error:
            if is_unavailable(error, connecting=True):
                return StorageUnavailable()
            return error
        return user_from_row(row) if row else None

    async def aclose(self) -> None:
        self._requests.put(None)
        await asyncio.to_thread(self._thread.join)
        self._engine.dispose()


Outcome = User | BaseException | None  # a user, no user, or the error to raise


@dataclass(frozen=True, slots=True)
class _Request:
    loop: asyncio.AbstractEventLoop
    answer: asyncio.Future[User | None]
    parameters: dict[str, Any]


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

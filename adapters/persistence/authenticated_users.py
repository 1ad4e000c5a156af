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

from sqlalchemy import Engine, bindparam, event, select
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.engine import SQLITE_BUSY_TIMEOUT_MS, configure_sqlite_connection
from adapters.persistence.errors import is_unavailable
from adapters.persistence.tables import sessions, users
from adapters.persistence.users import user_from_row
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


def _parameters(session_id: UUID, user_id: UUID, now: datetime) -> dict[str, Any]:
    return {"session_id": session_id, "user_id": user_id, "now": now}


class SqlAlchemyAuthenticatedUserReader:
    """On an autocommit connection: one round trip, with no BEGIN before it and no ROLLBACK
    after (a single statement sees one consistent snapshot either way)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        try:
            connection = await self._engine.connect()
        except Exception as error:
            if is_unavailable(error, connecting=True):
                raise StorageUnavailable() from error
            raise
        try:
            result = await connection.execute(
                AUTHENTICATED_USER, _parameters(session_id, user_id, now)
            )
            row = result.first()
        except Exception as error:
            if is_unavailable(error):
                raise StorageUnavailable() from error
            raise
        finally:
            await connection.close()
        return user_from_row(row) if row else None

    async def aclose(self) -> None:
        """Nothing of its own: the engine belongs to the container."""


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
    engine: AsyncEngine, database_url: str
) -> SqlAlchemyAuthenticatedUserReader | ThreadedSqliteAuthenticatedUserReader:
    """The fastest reader for this database: SQLite files get the threaded one."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return ThreadedSqliteAuthenticatedUserReader(database_url)
    return SqlAlchemyAuthenticatedUserReader(engine)


if TYPE_CHECKING:  # mypy fails here the moment a reader stops fitting the port
    _readers: list[type[AuthenticatedUserReader]] = [
        SqlAlchemyAuthenticatedUserReader,
        ThreadedSqliteAuthenticatedUserReader,
    ]

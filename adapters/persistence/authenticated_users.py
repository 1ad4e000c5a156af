"""The read behind every authenticated request: the user of a live session, in one statement
and outside any unit of work (issue 7: it is most of what an authenticated GET costs)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
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
    and the rollback on return) to its thread one at a time, about 0.5 ms a read. Here the
    whole read is one hand-off to a thread of the reader's own, through SQLAlchemy's synchronous
    driver on the same file, set up as the async engine's connections are.

    One thread: a read takes tens of microseconds, and every extra thread wanting the GIL back
    from the event loop costs both of them (the profile showed the loop's own steps slowed by
    the hand-overs when the reads shared the loop's default pool of threads). In WAL mode a
    reader never waits for a writer, so one thread does not queue reads behind a write."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="sqlite")
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-auth-read")
        self._engine: Engine = create_sync_engine(
            url,
            hide_parameters=True,
            pool_size=1,
            max_overflow=0,
            # The pool hands a connection to whichever worker thread asks next.
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        event.listen(self._engine, "connect", configure_sqlite_connection)

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._find, _parameters(session_id, user_id, now)
        )

    def _find(self, parameters: dict[str, Any]) -> User | None:
        try:
            with self._engine.connect() as connection:
                row = connection.execute(AUTHENTICATED_USER, parameters).first()
        except Exception as error:
            if is_unavailable(error, connecting=True):
                raise StorageUnavailable() from error
            raise
        return user_from_row(row) if row else None

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown()


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

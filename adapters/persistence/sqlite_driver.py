"""SQLAlchemy's aiosqlite adapter, with each statement run in one hand-off to the connection's
thread instead of one per step.

aiosqlite keeps each `sqlite3` connection in a thread of its own and runs every call there:
SQLAlchemy's adapter makes a cursor, executes, fetches the rows and closes the cursor, each a
trip to that thread and a wake-up of the event loop, and the pool's rollback on return is one
more. A unit of work like `PATCH /users/me` (an UPDATE and a COMMIT) took five of them. Here
one function run in the thread does the whole statement (execute, rows, description, rowcount,
lastrowid, close), and a COMMIT or ROLLBACK with no transaction open is not sent: `sqlite3`
would do nothing with it. The UPDATE and the COMMIT are then two hand-offs, and the unit of
work's CPU went from a median of 0.37 ms to 0.28 ms (`bench/sqlite_uow.py`, in-process): each
trip costs some 30 µs, both threads and the loop's wake-up together.

Everything else is the aiosqlite dialect's own: the URL, the thread, the pool, transactions as
`sqlite3` opens them, and its errors, which SQLAlchemy wraps as it always has."""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

if TYPE_CHECKING:
    from sqlalchemy.connectors.asyncio import AsyncIODBAPIConnection
    from sqlalchemy.engine.interfaces import _DBAPICursorDescription

T = TypeVar("T")

# What a statement leaves behind, read in the connection's thread: description, rows,
# rowcount, lastrowid, and whether a transaction is open after it.
_Outcome = tuple["_DBAPICursorDescription | None", list[Any], int, Any, bool]


def _run_statement(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> _Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid, connection.in_transaction
    finally:
        cursor.close()


def _in_thread(connection: Any, function: Callable[..., T], *args: Any) -> T:
    """Runs `function(*args)` in the aiosqlite connection's thread, as its own calls are."""
    result: T = await_(connection._execute(function, *args))
    return result


class OneHandOffCursor(AsyncAdapt_aiosqlite_cursor):
    """Holds a finished statement's outcome; it has no `sqlite3` cursor left open to close."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    # Nothing to close when SQLAlchemy's async layer closes the cursor.
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._arraysize = 1
        self._description: _DBAPICursorDescription | None = None
        self._rowcount = -1
        self._lastrowid: Any = None

    @property
    def description(self) -> _DBAPICursorDescription | None:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._run(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(operation, seq_of_parameters, many=True)

    def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        adapted = self._adapt_connection
        assert isinstance(adapted, OneHandOffConnection)
        # Until the statement reports back, a transaction may be open (it may begin one and
        # never report, if the caller is cancelled meanwhile).
        adapted.settled_outside_transaction = False
        try:
            outcome = _in_thread(
                self._connection,
                _run_statement,
                self._connection._conn,
                operation,
                parameters,
                many,
            )
        except Exception as error:
            adapted._handle_exception(error)
        description, rows, self._rowcount, self._lastrowid, in_transaction = outcome
        self._description = description
        self._rows = collections.deque(rows)
        adapted.settled_outside_transaction = not in_transaction

    def nextset(self) -> None:
        raise NotImplementedError("sqlite3 has no further result sets")

    def setinputsizes(self, *inputsizes: Any) -> None:
        """`sqlite3` ignores input sizes."""


class OneHandOffConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("settled_outside_transaction",)

    _cursor_cls = OneHandOffCursor

    def __init__(self, dbapi: Any, connection: AsyncIODBAPIConnection) -> None:
        super().__init__(dbapi, connection)
        # True once a statement, COMMIT or ROLLBACK has come back with no transaction open
        # and nothing has been sent since: then there is nothing to commit or roll back.
        self.settled_outside_transaction = False

    def commit(self) -> None:
        if not self.settled_outside_transaction:
            super().commit()
            self.settled_outside_transaction = True

    def rollback(self) -> None:
        if not self.settled_outside_transaction:
            super().rollback()
            self.settled_outside_transaction = True

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            # Streaming keeps a cursor open between fetches (aiosqlite's own, step by step),
            # and it reports nothing back.
            self.settled_outside_transaction = False
        return super().cursor(server_side)


class OneHandOffDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHandOffConnection:
        connection = aiosqlite.connect(*arg, **kw)
        # As SQLAlchemy's own: a connection left open never keeps the process from exiting.
        connection._thread.daemon = True
        return OneHandOffConnection(self, cast("AsyncIODBAPIConnection", await_(connection)))


def one_hand_off_dbapi() -> OneHandOffDbapi:
    """For `create_async_engine(..., module=...)` with a `sqlite+aiosqlite` URL."""
    return OneHandOffDbapi(aiosqlite, sqlite3)

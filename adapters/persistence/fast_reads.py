"""Reads made on every request of a kind (authenticating an access token, introspecting one):
one statement each, outside any unit of work, run by the driver itself.

SQLAlchemy writes each statement and converts its parameters and its row (each column type's
public `bind_processor` / `result_processor`), so these reads mean exactly what the
repositories mean; only the execution is the driver's, because SQLAlchemy's own execution path
costs more than such a read. The README's "How a request flows" gives the figures."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sqlalchemy import Select
from sqlalchemy.engine import Dialect

from adapters.persistence.errors import is_unavailable
from application.errors import StorageUnavailable

T = TypeVar("T")

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Bind:
    name: str
    convert: Processor
    value: Any  # the statement's own value, for a bind it was given one (a constant)


@dataclass(frozen=True, slots=True)
class CompiledRead(Generic[T]):
    """One statement for one dialect: its SQL, SQLAlchemy's conversions both ways, and what a
    row of it becomes."""

    sql: str
    binds: tuple[_Bind, ...]
    columns: tuple[tuple[str, Processor], ...]
    build: Callable[[Mapping[str, Any]], T]

    @classmethod
    def for_dialect(
        cls, statement: Select[Any], dialect: Dialect, build: Callable[[Mapping[str, Any]], T]
    ) -> CompiledRead[T]:
        compiled = statement.compile(dialect=dialect)
        names = compiled.positiontup or []
        binds = []
        for name in names:
            bind = compiled.binds[name]
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            binds.append(_Bind(name, convert, bind.value))
        return cls(
            sql=str(compiled),
            binds=tuple(binds),
            columns=tuple(
                (column.name, column.type.dialect_impl(dialect).result_processor(dialect, None))
                for column in statement.selected_columns
            ),
            build=build,
        )

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        """The driver's positional parameters: `values` by name, else the statement's own."""
        parameters = []
        for bind in self.binds:
            value = values.get(bind.name, bind.value)
            parameters.append(bind.convert(value) if bind.convert else value)
        return parameters

    def result(self, row: Sequence[Any]) -> T:
        return self.build(
            {
                name: convert(value) if convert else value
                for (name, convert), value in zip(self.columns, row, strict=True)
            }
        )


class FastReads(Protocol):
    async def fetch(self, read: CompiledRead[T], values: Mapping[str, Any]) -> T | None:
        """The first row of the read, built; None when it has none."""

    async def aclose(self) -> None:
        """Release what the reads hold of their own (at shutdown)."""


class DriverConnections(Protocol):
    def driver_connection(self) -> AbstractAsyncContextManager[Any]:
        """A pooled connection's own driver object, for exactly the block."""


class PooledAsyncpgReads:
    """PostgreSQL: asyncpg itself runs the statement, on a connection borrowed from the
    engine's pool: one round trip, no transaction around it."""

    def __init__(self, connections: DriverConnections) -> None:
        self._connections = connections

    async def fetch(self, read: CompiledRead[T], values: Mapping[str, Any]) -> T | None:
        parameters = read.parameters(values)
        async with self._connections.driver_connection() as connection:
            row = await connection.fetchrow(read.sql, *parameters)
        return read.result(row) if row else None

    async def aclose(self) -> None:
        """Nothing of its own to release: the connections are the engine's."""


Outcome = object  # a built row, None for no row, or the BaseException to raise


@dataclass(frozen=True, slots=True)
class _Request:
    loop: asyncio.AbstractEventLoop
    answer: asyncio.Future[Any]
    read: CompiledRead[Any]
    parameters: list[Any]


class ThreadedSqliteReads:
    """SQLite: one thread of the reads' own, with one connection, answering in batches.

    Why not a connection of the engine's pool: each aiosqlite call is a hand-over to that
    connection's thread and back, and borrowing one costs two more (the pool's check-out and
    its rollback on return), each dearer than the read itself. Here, the reads that queue while
    one runs are answered together, with one wake-up of the loop. In WAL mode a reader never
    waits for a writer, so reads do not queue behind writes."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._connection: sqlite3.Connection | None = None  # the thread's own
        self._requests: SimpleQueue[_Request | None] = SimpleQueue()
        self._thread: threading.Thread | None = None  # started by the first read

    async def fetch(self, read: CompiledRead[T], values: Mapping[str, Any]) -> T | None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T | None] = loop.create_future()
        parameters = read.parameters(values)
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="sqlite-reads", daemon=True)
            self._thread.start()
        self._requests.put(_Request(loop, answer, read, parameters))
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
            outcomes = [(request, self._outcome(request)) for request in batch]
            for loop in {request.loop for request in batch}:
                # A loop closed meanwhile has no one left waiting; the others still are.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(
                        _settle, [(r.answer, o) for r, o in outcomes if r.loop is loop]
                    )
        self._forget_connection()

    def _outcome(self, request: _Request) -> Outcome:
        """Never raises: whatever goes wrong is the answer of that one read (the thread lives
        on for the others)."""
        try:
            row = self._open().execute(request.read.sql, request.parameters).fetchone()
            return request.read.result(row) if row else None
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


def _settle(outcomes: list[tuple[asyncio.Future[Any], Outcome]]) -> None:
    """On the event loop: hand each waiting request its answer (unless it gave up waiting)."""
    for answer, outcome in outcomes:
        if answer.done():
            continue
        if isinstance(outcome, BaseException):
            answer.set_exception(outcome)
        else:
            answer.set_result(outcome)


if TYPE_CHECKING:  # mypy fails here the moment a runner stops fitting the protocol
    _runners: list[type[FastReads]] = [PooledAsyncpgReads, ThreadedSqliteReads]

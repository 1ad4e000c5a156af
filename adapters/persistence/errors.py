"""Which errors of the database and its drivers mean "the database is not there" (a 503 and a
retry, never a 500) or "that value is taken". Every way the service talks to its database,
SQLAlchemy or a driver used directly, asks this one module."""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# The connection or its protocol is broken, whatever the statement was: closed or reset
# under us, terminated by an administrator or a shutdown, or left mid-operation by a lost
# connection (asyncpg's InternalClientError: "cannot switch to state ...").
_LOST_CONNECTION: tuple[type[BaseException], ...] = (
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    sqlite3.OperationalError,  # cannot open, locked past the busy timeout, disk gone
    OperationalError,
    InterfaceError,
    PoolTimeout,  # every pooled connection busy for pool_timeout seconds: overloaded
    ConnectionError,
    TimeoutError,
    OSError,  # refused, reset, unreachable
)


def is_unavailable(error: BaseException, *, connecting: bool = False) -> bool:
    """`connecting`: the error came while getting a connection. Then any refusal by the server
    (starting up or shutting down, too many clients, no such database or role) means there is
    no database to work with."""
    for cause in _causes(error):
        if connecting and isinstance(cause, DBAPIError | asyncpg.PostgresError):
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, _LOST_CONNECTION):
            return True
    return False


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what it wraps: SQLAlchemy keeps the driver's error in `orig`, and an
    error raised while handling another keeps that one as its cause."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        original = getattr(current, "orig", None)
        if isinstance(original, BaseException) and original not in chain:
            chain.append(original)
        current = current.__cause__
    return chain


def violates_unique(error: IntegrityError, table: str, column: str) -> bool:
    """PostgreSQL names the constraint; SQLite names the table and column."""
    message = str(error.orig)
    return f"uq_{table}_{column}" in message or f"{table}.{column}" in message

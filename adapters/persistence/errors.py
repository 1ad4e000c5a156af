"""Telling which database errors mean "the database is not there" or "that value is taken"."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def is_unavailable(error: BaseException, *, connecting: bool = False) -> bool:
    if connecting and isinstance(error, DBAPIError):
        # Turned away at the door: PostgreSQL starting up or shutting down, too many
        # connections, no such database or role. asyncpg's errors for these arrive as the
        # generic DBAPIError; whatever the reason, there is no database to work with.
        return True
    if isinstance(error, OperationalError | InterfaceError | ConnectionError | TimeoutError):
        return True
    if isinstance(error, PoolTimeout):
        # Every pooled connection busy for pool_timeout seconds: overloaded, so 503 and retry.
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OSError)


def is_unavailable_to_asyncpg(error: BaseException, *, connecting: bool = False) -> bool:
    """The same question for asyncpg used directly (see authenticated_users.py)."""
    if connecting and isinstance(error, asyncpg.PostgresError):
        return True  # no such database or role, not accepting connections, too many clients
    lost = (
        asyncpg.InterfaceError,  # the connection is closed or broken
        asyncpg.PostgresConnectionError,
        asyncpg.exceptions.OperatorInterventionError,  # shutdown, cancelled by an admin
        TimeoutError,
        OSError,  # refused, reset, unreachable
    )
    return isinstance(error, lost)


def violates_unique(error: IntegrityError, table: str, column: str) -> bool:
    """PostgreSQL names the constraint; SQLite names the table and column."""
    message = str(error.orig)
    return f"uq_{table}_{column}" in message or f"{table}.{column}" in message

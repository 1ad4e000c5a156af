"""Telling which database errors mean "the database is not there" or "that value is taken"."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, OperationalError | InterfaceError | ConnectionError | TimeoutError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OSError)


def violates_unique(error: IntegrityError, table: str, column: str) -> bool:
    """PostgreSQL names the constraint; SQLite names the table and column."""
    message = str(error.orig)
    return f"uq_{table}_{column}" in message or f"{table}.{column}" in message

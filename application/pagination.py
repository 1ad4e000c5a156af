"""Keyset pagination: an opaque cursor names the last item seen, so pages stay stable while
rows are added, and every row is visited once."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from application.errors import InvalidCursor

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class Position:
    """The (created_at, id) of the last item of a page."""

    created_at: datetime
    id: UUID


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(position: Position) -> str:
    raw = json.dumps([position.created_at.isoformat(), str(position.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, id_ = json.loads(raw)
        position = Position(created_at=datetime.fromisoformat(created_at), id=UUID(id_))
    # AttributeError: UUID() given a JSON number, list or object instead of a string.
    except (binascii.Error, ValueError, TypeError, AttributeError, UnicodeDecodeError):
        raise InvalidCursor() from None
    if position.created_at.tzinfo is None:
        raise InvalidCursor()
    return position

"""The opaque cursor of keyset pagination: what encode_cursor gives out, decode_cursor takes
back; anything else is InvalidCursor, never a crash."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from application.errors import InvalidCursor
from application.pagination import Position, decode_cursor, encode_cursor

AT = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
ID = UUID("6f1c2a4e-8b1d-4c3e-9f00-0123456789ab")


def cursor_of(raw: bytes) -> str:
    """A cursor made the way the service makes them, around any content."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_of_json(value: object) -> str:
    return cursor_of(json.dumps(value).encode())


def test_a_position_survives_the_round_trip_to_the_microsecond() -> None:
    position = Position(created_at=AT, id=ID)

    assert decode_cursor(encode_cursor(position)) == position


def test_a_position_with_another_utc_offset_survives_the_round_trip() -> None:
    paris = timezone(timedelta(hours=1))
    position = Position(created_at=AT.astimezone(paris), id=ID)

    decoded = decode_cursor(encode_cursor(position))

    assert decoded == position
    assert decoded is not None
    assert decoded.created_at.utcoffset() == timedelta(hours=1)


def test_the_cursor_is_url_safe_and_unpadded() -> None:
    cursor = encode_cursor(Position(created_at=AT, id=UUID(int=2**128 - 1)))

    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor), cursor


def test_no_cursor_means_the_first_page() -> None:
    assert decode_cursor(None) is None


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage!", id="garbage"),
        pytest.param("%%%%", id="not base64 at all"),
        pytest.param("é", id="not ascii"),
        pytest.param("a", id="impossible base64 length"),
        pytest.param(cursor_of(b"hello there"), id="base64 of text"),
        pytest.param(cursor_of(b"\xff\xfe\xfd\xfc"), id="base64 of bytes that are no text"),
        pytest.param(cursor_of_json(5), id="a number"),
        pytest.param(cursor_of_json("ab"), id="a two-letter string"),
        pytest.param(cursor_of_json({"a": 1, "b": 2}), id="an object"),
        pytest.param(cursor_of_json([AT.isoformat()]), id="one item"),
        pytest.param(cursor_of_json([AT.isoformat(), str(ID), 3]), id="three items"),
        pytest.param(cursor_of_json(["yesterday", str(ID)]), id="not a timestamp"),
        pytest.param(cursor_of_json([AT.isoformat(), "not-a-uuid"]), id="not a uuid"),
        pytest.param(cursor_of_json([None, str(ID)]), id="null timestamp"),
        pytest.param(cursor_of_json([AT.isoformat(), None]), id="null id"),
        pytest.param(cursor_of_json([AT.isoformat(), 5]), id="numeric id"),
        pytest.param(cursor_of_json([AT.isoformat(), [1]]), id="list as id"),
        pytest.param(cursor_of_json([AT.isoformat(), {"id": 1}]), id="object as id"),
        pytest.param(cursor_of_json([12345, str(ID)]), id="numeric timestamp"),
        pytest.param(cursor_of_json(["2026-01-01T12:00:00", str(ID)]), id="naive timestamp"),
        pytest.param(cursor_of_json(["2026-01-01", str(ID)]), id="a date alone"),
    ],
)
def test_anything_but_a_cursor_the_service_gave_out_is_an_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)

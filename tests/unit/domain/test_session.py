from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.session import Session

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
EXPIRES = T0 + timedelta(days=30)


def a_session() -> Session:
    return Session(
        id=UUID(int=2),
        user_id=UUID(int=1),
        refresh_token_hash="0" * 64,
        created_at=T0,
        last_used_at=T0,
        expires_at=EXPIRES,
        user_agent=None,
        ip=None,
    )


def test_a_fresh_session_is_usable_until_just_before_it_expires() -> None:
    session = a_session()
    assert session.is_usable(T0)
    assert session.is_usable(EXPIRES - timedelta(microseconds=1))


def test_a_session_is_not_usable_from_its_expiry_on() -> None:
    session = a_session()
    assert not session.is_usable(EXPIRES)
    assert not session.is_usable(EXPIRES + timedelta(days=1))


def test_a_revoked_session_is_not_usable() -> None:
    session = a_session()
    session.revoke(T0 + timedelta(minutes=5))
    assert session.revoked_at == T0 + timedelta(minutes=5)
    assert not session.is_usable(T0 + timedelta(minutes=6))


def test_revoking_twice_keeps_the_first_revocation_time() -> None:
    session = a_session()
    session.revoke(T0 + timedelta(minutes=5))
    session.revoke(T0 + timedelta(minutes=9))
    assert session.revoked_at == T0 + timedelta(minutes=5)


def test_rotating_swaps_the_refresh_token_hash_and_marks_the_session_used() -> None:
    session = a_session()
    later = T0 + timedelta(days=3)

    session.rotate("1" * 64, later)

    assert session.refresh_token_hash == "1" * 64
    assert session.last_used_at == later


def test_rotating_keeps_the_absolute_lifetime_and_everything_else() -> None:
    session = a_session()

    session.rotate("1" * 64, T0 + timedelta(days=3))

    assert (session.id, session.user_id, session.created_at) == (UUID(int=2), UUID(int=1), T0)
    assert session.expires_at == EXPIRES
    assert session.revoked_at is None


def test_a_session_without_a_parent_is_usable_on_its_own() -> None:
    session = a_session()
    assert session.is_usable_under(None, T0)


def test_a_child_session_is_usable_only_while_its_parent_is() -> None:
    parent = replace(a_session(), id=UUID(int=10), expires_at=T0 + timedelta(hours=1))
    child = replace(a_session(), parent_session_id=parent.id)
    assert child.is_usable_under(parent, T0)
    assert not child.is_usable_under(parent, T0 + timedelta(hours=1))  # the parent expired
    assert not child.is_usable_under(None, T0)  # the parent is gone
    assert not child.is_usable_under(a_session(), T0)  # another session is not its parent
    parent.revoke(T0)
    assert not child.is_usable_under(parent, T0)


def test_a_child_session_revoked_itself_is_not_usable_under_a_live_parent() -> None:
    parent = replace(a_session(), id=UUID(int=10))
    child = replace(a_session(), parent_session_id=parent.id, revoked_at=T0)
    assert not child.is_usable_under(parent, T0)

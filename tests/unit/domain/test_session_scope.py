from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.session import Session
from domain.session_scope import SessionScope

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
EVE = UUID(int=1)
BOB = UUID(int=2)
CURRENT = UUID(int=10)
LAPTOP = UUID(int=11)
PHONE = UUID(int=12)


def a_session(session_id: UUID, user_id: UUID = EVE, *, revoked: bool = False) -> Session:
    return Session(
        id=session_id,
        user_id=user_id,
        refresh_token_hash=f"{session_id.int:064x}",
        created_at=T0,
        last_used_at=T0,
        expires_at=T0 + timedelta(days=30),
        user_agent=None,
        ip=None,
        revoked_at=T0 if revoked else None,
    )


def eves_sessions() -> list[Session]:
    return [a_session(CURRENT), a_session(LAPTOP), a_session(PHONE)]


def included(scope: SessionScope, sessions: list[Session]) -> set[UUID]:
    return {session.id for session in sessions if scope.includes(session)}


EVERY_SCOPE: dict[str, Callable[[UUID], SessionScope]] = {
    "one": lambda user_id: SessionScope.one(user_id, CURRENT),
    "others": lambda user_id: SessionScope.others(user_id, CURRENT),
    "everything": SessionScope.everything,
}


def test_one_includes_only_the_named_session() -> None:
    assert included(SessionScope.one(EVE, LAPTOP), eves_sessions()) == {LAPTOP}


def test_others_includes_every_session_of_the_user_but_the_current_one() -> None:
    assert included(SessionScope.others(EVE, CURRENT), eves_sessions()) == {LAPTOP, PHONE}


def test_everything_includes_every_session_of_the_user_the_current_one_too() -> None:
    assert included(SessionScope.everything(EVE), eves_sessions()) == {CURRENT, LAPTOP, PHONE}


@pytest.mark.parametrize("make_scope", EVERY_SCOPE.values(), ids=EVERY_SCOPE.keys())
def test_no_scope_reaches_another_users_session(make_scope: Callable[[UUID], SessionScope]) -> None:
    bobs = [a_session(CURRENT, BOB), a_session(LAPTOP, BOB)]

    assert included(make_scope(EVE), bobs) == set()


@pytest.mark.parametrize("make_scope", EVERY_SCOPE.values(), ids=EVERY_SCOPE.keys())
def test_no_scope_reaches_an_already_revoked_session(
    make_scope: Callable[[UUID], SessionScope],
) -> None:
    revoked = [a_session(CURRENT, revoked=True), a_session(LAPTOP, revoked=True)]

    assert included(make_scope(EVE), revoked) == set()


def test_one_naming_someone_elses_session_reaches_nothing() -> None:
    bobs = a_session(LAPTOP, BOB)

    assert not SessionScope.one(EVE, bobs.id).includes(bobs)


def test_one_naming_an_unknown_session_reaches_nothing() -> None:
    assert included(SessionScope.one(EVE, UUID(int=99)), eves_sessions()) == set()


def test_others_passes_over_revoked_sessions_among_live_ones() -> None:
    sessions = [a_session(CURRENT), a_session(LAPTOP, revoked=True), a_session(PHONE)]

    assert included(SessionScope.others(EVE, CURRENT), sessions) == {PHONE}

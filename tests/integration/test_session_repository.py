"""The session half of the repository contract that refresh rotation, revocation scopes and
pruning rely on — on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from application.ports.persistence import AuthenticatedUserReader
from domain.auth_method import (
    PASSWORD_AND_RECOVERY_CODE,
    PASSWORD_AND_TOTP,
    PASSWORD_ONLY,
    AuthMethods,
)
from domain.session import SessionKind
from domain.session_scope import SessionScope
from tests.integration.builders import NOW, a_session, a_signing_key, a_user
from tests.integration.conftest import Persist, UowFactory


@pytest.mark.parametrize("amr", [PASSWORD_ONLY, PASSWORD_AND_TOTP, PASSWORD_AND_RECOVERY_CODE])
async def test_a_session_keeps_how_it_was_opened_across_rotations(
    uow_factory: UowFactory, persist: Persist, amr: AuthMethods
) -> None:
    user = a_user()
    session = a_session(user, amr=amr)
    await persist(user, session)

    async with uow_factory() as uow:
        rotated = await uow.sessions.rotate_refresh_token(session.refresh_token_hash, "n" * 64, NOW)
        (listed,) = await uow.sessions.list_usable_of_user(user.id, NOW)
        await uow.commit()

    assert rotated is not None
    assert (rotated.amr, listed.amr) == (amr, amr)


async def test_rotation_swaps_the_hash_and_remembers_the_old_one(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)
    async with uow_factory() as uow:
        rotated = await uow.sessions.rotate_refresh_token(session.refresh_token_hash, "n" * 64, NOW)
        await uow.commit()
    assert rotated is not None
    assert rotated.id == session.id
    assert rotated.refresh_token_hash == "n" * 64
    assert rotated.last_used_at == NOW
    assert rotated.expires_at == session.expires_at
    async with uow_factory() as uow:
        assert (
            await uow.sessions.rotate_refresh_token(session.refresh_token_hash, "m" * 64, NOW)
            is None
        )
        found = await uow.sessions.find_by_rotated_token(session.refresh_token_hash)
        assert found is not None
        assert found.id == session.id
        assert await uow.sessions.find_by_rotated_token("n" * 64) is None  # current, not rotated


async def test_rotation_refuses_revoked_and_expired_sessions(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    revoked = a_session(user, revoked_at=NOW - timedelta(minutes=1))
    expired = a_session(user, expires_at=NOW)
    await persist(user, revoked, expired)
    async with uow_factory() as uow:
        for session in (revoked, expired):
            assert (
                await uow.sessions.rotate_refresh_token(session.refresh_token_hash, "x" * 64, NOW)
                is None
            )
            assert await uow.sessions.find_by_rotated_token(session.refresh_token_hash) is None


async def test_a_browser_session_is_found_by_its_secret_and_never_rotated(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    browser = a_session(user, kind=SessionKind.BROWSER)
    api = a_session(user)
    ended = a_session(user, kind=SessionKind.BROWSER, revoked_at=NOW - timedelta(minutes=1))
    expired = a_session(user, kind=SessionKind.BROWSER, expires_at=NOW)
    await persist(user, browser, api, ended, expired)
    async with uow_factory() as uow:
        found = await uow.sessions.find_usable_by_token(
            browser.refresh_token_hash, SessionKind.BROWSER, NOW
        )
        assert found == browser
        assert found is not None
        assert found.kind is SessionKind.BROWSER
        for other in (api, ended, expired):
            assert (
                await uow.sessions.find_usable_by_token(
                    other.refresh_token_hash, SessionKind.BROWSER, NOW
                )
                is None
            )
        assert (
            await uow.sessions.find_usable_by_token(api.refresh_token_hash, SessionKind.API, NOW)
            == api
        )
        assert (
            await uow.sessions.rotate_refresh_token(browser.refresh_token_hash, "b" * 64, NOW)
            is None
        )
        assert await uow.sessions.find_by_rotated_token(browser.refresh_token_hash) is None


async def test_of_many_concurrent_rotations_of_one_token_exactly_one_wins(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)

    async def rotate(n: int) -> bool:
        async with uow_factory() as uow:
            won = await uow.sessions.rotate_refresh_token(
                session.refresh_token_hash, f"{n:064d}", NOW
            )
            await uow.commit()
            return won is not None

    results = await asyncio.gather(*(rotate(n) for n in range(20)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert results.count(True) == 1


@pytest.mark.parametrize("scope_name", ["one", "others", "everything"])
async def test_revoke_in_sql_matches_the_domain_rule(
    authenticated_users: AuthenticatedUserReader,
    scope_name: str,
    uow_factory: UowFactory,
    persist: Persist,
) -> None:
    ada, bob = a_user(), a_user()
    current = a_session(ada)
    other = a_session(ada)
    already = a_session(ada, revoked_at=NOW - timedelta(days=1))
    bobs = a_session(bob)
    await persist(ada, bob, current, other, already, bobs)
    scope = {
        "one": SessionScope.one(ada.id, other.id),
        "others": SessionScope.others(ada.id, current.id),
        "everything": SessionScope.everything(ada.id),
    }[scope_name]
    expected = {s.id for s in (current, other, already, bobs) if scope.includes(s)}

    async with uow_factory() as uow:
        assert await uow.sessions.revoke(scope, NOW) == len(expected)
        await uow.commit()
    async with uow_factory() as uow:
        for session in (current, other, bobs):
            alive = await authenticated_users.find(session.id, session.user_id, NOW)
            assert (alive is None) == (session.id in expected)
        # An earlier revocation keeps its time.
        assert await uow.sessions.revoke(SessionScope.one(ada.id, already.id), NOW) == 0


async def test_usable_sessions_are_listed_newest_first(
    uow_factory: UowFactory, persist: Persist
) -> None:
    ada, bob = a_user(), a_user()
    old = a_session(ada, created_at=NOW - timedelta(days=3))
    new = a_session(ada, created_at=NOW - timedelta(minutes=1))
    gone = a_session(ada, revoked_at=NOW - timedelta(hours=1))
    expired = a_session(ada, expires_at=NOW - timedelta(seconds=1))
    await persist(ada, bob, old, new, gone, expired, a_session(bob))
    async with uow_factory() as uow:
        listed = await uow.sessions.list_usable_of_user(ada.id, NOW)
    assert [s.id for s in listed] == [new.id, old.id]
    assert listed[1] == old


async def test_prune_deletes_expired_and_long_revoked_sessions_with_their_history(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    live = a_session(user)
    expired = a_session(user, expires_at=NOW - timedelta(days=1))
    long_revoked = a_session(user, revoked_at=NOW - timedelta(days=8))
    just_revoked = a_session(user, revoked_at=NOW - timedelta(hours=1))
    await persist(user, live, expired, long_revoked, just_revoked)
    async with uow_factory() as uow:
        await uow.sessions.rotate_refresh_token(live.refresh_token_hash, "r" * 64, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        pruned = await uow.sessions.prune(
            expired_before=NOW, revoked_before=NOW - timedelta(days=7)
        )
        await uow.commit()
    assert pruned == 2
    async with uow_factory() as uow:
        assert await uow.sessions.find_by_rotated_token(live.refresh_token_hash) is not None
        assert await uow.sessions.revoke(SessionScope.everything(user.id), NOW) == 1  # live only
        await uow.sessions.prune(expired_before=NOW, revoked_before=NOW + timedelta(seconds=1))
        assert await uow.sessions.find_by_rotated_token(live.refresh_token_hash) is None


async def test_a_retired_signing_key_is_saved(uow_factory: UowFactory, persist: Persist) -> None:
    key = a_signing_key()
    await persist(key)
    key.retire(NOW)
    async with uow_factory() as uow:
        await uow.signing_keys.save(key)
        await uow.commit()
    async with uow_factory() as uow:
        (stored,) = await uow.signing_keys.list()
    assert stored.retired_at == NOW
    assert not stored.is_active

"""The sessions OAuth clients hold, on SQLite, PostgreSQL and the fakes: they keep their scopes
and sign-in time, rotate with reuse detection as API sessions do, live within the browser
session that authorized them unless granted offline access, and end with a grant's withdrawal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.oauth_client import OAuthClient
from domain.session import Session, SessionKind
from domain.session_scope import SessionScope
from domain.user import User
from tests.integration.builders import NOW, a_session, a_user, an_oauth_client, an_oauth_session
from tests.integration.conftest import Persist, UowFactory


async def a_person_with_a_client(persist: Persist) -> tuple[User, OAuthClient, Session]:
    """An account signed in in a browser, and a client it uses."""
    user, client = a_user(), an_oauth_client()
    browser = a_session(user, kind=SessionKind.BROWSER)
    await persist(user, client, browser)
    return user, client, browser


async def usable(uow_factory: UowFactory, session: Session) -> bool:
    async with uow_factory() as uow:
        found = await uow.sessions.find_usable_oauth_session(session.id, NOW)
        listed = await uow.sessions.list_usable_of_user(session.user_id, NOW)
        by_token = await uow.sessions.find_usable_by_token(
            session.refresh_token_hash, SessionKind.OAUTH, NOW
        )
    assert (by_token is not None) == (found is not None) == (session.id in {s.id for s in listed})
    return found is not None


async def test_an_oauth_session_comes_back_with_its_scopes_parent_and_sign_in_time(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_person_with_a_client(persist)
    offline = an_oauth_session(user, client)
    bound = an_oauth_session(user, client, parent_session_id=browser.id)
    await persist(offline, bound)

    async with uow_factory() as uow:
        for session in (offline, bound):
            assert await uow.sessions.find_usable_oauth_session(session.id, NOW) == session
        listed = await uow.sessions.list_usable_of_user(user.id, NOW)
    assert browser in listed
    assert next(s for s in listed if s.id == browser.id).scopes is None


async def test_only_an_oauth_session_is_found_by_its_id_as_one(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, _, browser = await a_person_with_a_client(persist)
    api = a_session(user)
    await persist(api)

    async with uow_factory() as uow:
        for session in (browser, api):
            assert await uow.sessions.find_usable_oauth_session(session.id, NOW) is None


@pytest.mark.parametrize("ended", ["revoked", "expired"])
async def test_a_session_bound_to_a_browser_session_ends_with_it(
    uow_factory: UowFactory, persist: Persist, ended: str
) -> None:
    user, client, _ = await a_person_with_a_client(persist)
    parent = a_session(user, kind=SessionKind.BROWSER, expires_at=NOW + timedelta(hours=1))
    bound = an_oauth_session(user, client, parent_session_id=parent.id)
    offline = an_oauth_session(user, client)
    await persist(parent, bound, offline)
    assert await usable(uow_factory, bound)

    if ended == "revoked":
        async with uow_factory() as uow:
            await uow.sessions.revoke(SessionScope.one(user.id, parent.id), NOW)
            await uow.commit()
    at = NOW if ended == "revoked" else parent.expires_at

    async with uow_factory() as uow:
        assert await uow.sessions.find_usable_oauth_session(bound.id, at) is None
        assert bound.id not in {s.id for s in await uow.sessions.list_usable_of_user(user.id, at)}
        assert (
            await uow.sessions.rotate_refresh_token(
                bound.refresh_token_hash, "b" * 64, at, SessionKind.OAUTH
            )
            is None
        )
        assert await uow.sessions.find_usable_oauth_session(offline.id, at) is not None


async def test_an_oauth_session_rotates_its_refresh_token_with_reuse_detection(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_person_with_a_client(persist)
    session = an_oauth_session(user, client, parent_session_id=browser.id)
    await persist(session)

    async with uow_factory() as uow:
        # An API client's refresh cannot trade it, nor the OAuth one an API session's.
        assert (
            await uow.sessions.rotate_refresh_token(session.refresh_token_hash, "a" * 64, NOW)
            is None
        )
        rotated = await uow.sessions.rotate_refresh_token(
            session.refresh_token_hash, "n" * 64, NOW, SessionKind.OAUTH
        )
        await uow.commit()
    assert rotated is not None
    assert rotated.refresh_token_hash == "n" * 64
    assert (rotated.scopes, rotated.parent_session_id, rotated.auth_time) == (
        session.scopes,
        session.parent_session_id,
        session.auth_time,
    )

    async with uow_factory() as uow:
        again = await uow.sessions.rotate_refresh_token(
            session.refresh_token_hash, "m" * 64, NOW, SessionKind.OAUTH
        )
        assert again is None
        stolen_from = await uow.sessions.find_by_rotated_token(session.refresh_token_hash)
        assert stolen_from is not None
        assert stolen_from.id == session.id


async def test_an_api_session_is_not_rotated_as_an_oauth_one(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    api = a_session(user)
    await persist(user, api)

    async with uow_factory() as uow:
        assert (
            await uow.sessions.rotate_refresh_token(
                api.refresh_token_hash, "o" * 64, NOW, SessionKind.OAUTH
            )
            is None
        )


async def test_pruning_a_browser_session_deletes_the_sessions_bound_to_it(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_person_with_a_client(persist)
    bound = an_oauth_session(user, client, parent_session_id=browser.id)
    offline = an_oauth_session(user, client)
    await persist(bound, offline)
    async with uow_factory() as uow:
        for session in (bound, offline):
            await uow.sessions.rotate_refresh_token(
                session.refresh_token_hash, session.refresh_token_hash[::-1], NOW, SessionKind.OAUTH
            )
        await uow.sessions.revoke(SessionScope.one(user.id, browser.id), NOW)
        await uow.commit()

    async with uow_factory() as uow:
        pruned = await uow.sessions.prune(
            expired_before=NOW, revoked_before=NOW + timedelta(seconds=1)
        )
        await uow.commit()

    assert pruned == 1  # the browser session; the one bound to it went with it
    async with uow_factory() as uow:
        assert await uow.sessions.find_by_rotated_token(bound.refresh_token_hash) is None
        assert await uow.sessions.find_by_rotated_token(offline.refresh_token_hash) is not None
        # Only the session with offline access is left to revoke.
        assert await uow.sessions.revoke(SessionScope.everything(user.id), NOW) == 1


async def test_deleting_a_browser_sessions_account_deletes_everything_bound_to_it(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_person_with_a_client(persist)
    bound = an_oauth_session(user, client, parent_session_id=browser.id)
    await persist(bound)

    async with uow_factory() as uow:
        await uow.users.delete(user.id)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.sessions.find_usable_oauth_session(bound.id, NOW) is None
        assert await uow.sessions.list_usable_of_user(user.id, NOW) == []


async def test_withdrawing_a_grant_revokes_that_clients_sessions_of_that_account_only(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_person_with_a_client(persist)
    other_client = an_oauth_client()
    someone = a_user()
    await persist(other_client, someone)
    mine = [
        an_oauth_session(user, client),
        an_oauth_session(user, client, parent_session_id=browser.id),
    ]
    already = an_oauth_session(user, client, revoked_at=NOW - timedelta(days=1))
    kept = [
        an_oauth_session(user, other_client),
        an_oauth_session(someone, client),
        a_session(user),
    ]
    await persist(*mine, already, *kept)

    async with uow_factory() as uow:
        assert await uow.sessions.revoke_of_client(user.id, client.client_id, NOW) == 2
        await uow.commit()

    async with uow_factory() as uow:
        listed = {s.id for s in await uow.sessions.list_usable_of_user(user.id, NOW)}
        listed |= {s.id for s in await uow.sessions.list_usable_of_user(someone.id, NOW)}
    assert listed == {browser.id, *(s.id for s in kept)}

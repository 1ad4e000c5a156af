"""Authorization codes on SQLite, PostgreSQL and the fakes: a code is redeemed once, by one of
any number of racing exchanges, never after it expires; a spent one still tells what its
exchange opened; and codes go with their client, their account and their browser session."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from domain.authorization_code import AuthorizationCode
from domain.oauth_client import OAuthClient
from domain.session import Session
from domain.session_scope import SessionScope
from domain.user import User
from tests.integration.builders import (
    NOW,
    a_grant,
    a_session,
    a_user,
    an_authorization_code,
    an_oauth_client,
    an_oauth_session,
)
from tests.integration.conftest import Persist, UowFactory


async def a_signed_in_browser(persist: Persist) -> tuple[User, OAuthClient, Session]:
    user, client = a_user(), an_oauth_client()
    browser = a_session(user)
    await persist(user, client, browser)
    return user, client, browser


async def redeem(uow_factory: UowFactory, code_hash: str) -> AuthorizationCode | None:
    async with uow_factory() as uow:
        redeemed = await uow.oauth_codes.redeem(code_hash, NOW)
        await uow.commit()
    return redeemed


async def spent(uow_factory: UowFactory, code_hash: str) -> AuthorizationCode | None:
    async with uow_factory() as uow:
        return await uow.oauth_codes.find_spent(code_hash)


async def test_a_code_is_redeemed_as_it_was_issued_and_marked_used(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_signed_in_browser(persist)
    code = an_authorization_code(user, client, browser)
    bare = an_authorization_code(user, client, browser, nonce=None, code_challenge=None)
    await persist(code, bare)

    for issued in (code, bare):
        redeemed = await redeem(uow_factory, issued.code_hash)
        assert redeemed is not None
        assert redeemed == replace(issued, used_at=NOW)


async def test_a_code_is_redeemed_once_and_then_found_spent(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_signed_in_browser(persist)
    code = an_authorization_code(user, client, browser)
    await persist(code)
    assert await spent(uow_factory, code.code_hash) is None

    assert await redeem(uow_factory, code.code_hash) is not None
    assert await redeem(uow_factory, code.code_hash) is None
    found = await spent(uow_factory, code.code_hash)
    assert found is not None
    assert (found.id, found.used_at) == (code.id, NOW)


async def test_an_expired_or_unknown_code_is_refused_and_not_spent(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_signed_in_browser(persist)
    expired = an_authorization_code(user, client, browser, expires_at=NOW)
    await persist(expired)

    assert await redeem(uow_factory, expired.code_hash) is None
    assert await redeem(uow_factory, "0" * 64) is None
    assert await spent(uow_factory, expired.code_hash) is None


async def test_a_redemption_not_committed_leaves_the_code_usable(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_signed_in_browser(persist)
    code = an_authorization_code(user, client, browser)
    await persist(code)
    async with uow_factory() as uow:
        assert await uow.oauth_codes.redeem(code.code_hash, NOW) is not None

    assert await redeem(uow_factory, code.code_hash) is not None


async def test_of_many_exchanges_racing_with_one_code_exactly_one_wins(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_signed_in_browser(persist)
    code = an_authorization_code(user, client, browser)
    await persist(code)

    async def exchange() -> bool:
        return await redeem(uow_factory, code.code_hash) is not None

    results = await asyncio.gather(*(exchange() for _ in range(20)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert results.count(True) == 1


async def test_a_spent_code_tells_the_session_its_exchange_opened_until_that_one_is_gone(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_signed_in_browser(persist)
    code = an_authorization_code(user, client, browser)
    opened = an_oauth_session(user, client)
    await persist(code, opened)
    async with uow_factory() as uow:
        redeemed = await uow.oauth_codes.redeem(code.code_hash, NOW)
        assert redeemed is not None
        await uow.oauth_codes.record_issued_session(redeemed.id, opened.id)
        await uow.commit()

    found = await spent(uow_factory, code.code_hash)
    assert found is not None
    assert found.issued_session_id == opened.id

    async with uow_factory() as uow:
        await uow.sessions.revoke(SessionScope.one(user.id, opened.id), NOW)
        await uow.sessions.prune(expired_before=NOW, revoked_before=NOW + timedelta(seconds=1))
        await uow.commit()
    found = await spent(uow_factory, code.code_hash)
    assert found is not None
    assert found.issued_session_id is None


async def test_prune_deletes_the_codes_expired_before_the_given_time_used_or_not(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_signed_in_browser(persist)
    old = an_authorization_code(user, client, browser, expires_at=NOW - timedelta(days=1))
    old_used = an_authorization_code(
        user, client, browser, expires_at=NOW - timedelta(days=1), used_at=NOW - timedelta(days=1)
    )
    recent_used = an_authorization_code(user, client, browser, used_at=NOW - timedelta(seconds=5))
    live = an_authorization_code(user, client, browser)
    await persist(old, old_used, recent_used, live)

    async with uow_factory() as uow:
        assert await uow.oauth_codes.prune(expired_before=NOW - timedelta(hours=1)) == 2
        await uow.commit()

    assert await spent(uow_factory, old_used.code_hash) is None
    assert await spent(uow_factory, recent_used.code_hash) is not None
    assert await redeem(uow_factory, live.code_hash) is not None


async def test_deleting_a_client_deletes_its_codes_grants_and_sessions_and_no_others(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_signed_in_browser(persist)
    other = an_oauth_client()
    await persist(other)
    code, others_code = (an_authorization_code(user, c, browser) for c in (client, other))
    used, others_used = (
        an_authorization_code(user, c, browser, used_at=NOW) for c in (client, other)
    )
    session, others_session = (an_oauth_session(user, c) for c in (client, other))
    await persist(code, others_code, used, others_used, session, others_session)
    await persist(a_grant(user, client), a_grant(user, other))

    async with uow_factory() as uow:
        await uow.oauth_clients.delete(client.client_id)
        await uow.commit()

    assert await spent(uow_factory, used.code_hash) is None
    assert await redeem(uow_factory, code.code_hash) is None
    async with uow_factory() as uow:
        assert await uow.oauth_grants.get(user.id, client.client_id) is None
        assert await uow.sessions.find_usable_oauth_session(session.id, NOW) is None
        assert await uow.oauth_grants.get(user.id, other.client_id) is not None
        assert await uow.sessions.find_usable_oauth_session(others_session.id, NOW) is not None
        assert await uow.oauth_codes.find_spent(others_used.code_hash) is not None
    assert await redeem(uow_factory, others_code.code_hash) is not None


async def test_deleting_an_account_deletes_its_codes_and_grants(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_signed_in_browser(persist)
    someone = a_user()
    theirs = a_session(someone)
    await persist(someone, theirs)
    mine = an_authorization_code(user, client, browser, used_at=NOW)
    kept = an_authorization_code(someone, client, theirs, used_at=NOW)
    await persist(mine, kept, a_grant(user, client), a_grant(someone, client))

    async with uow_factory() as uow:
        await uow.users.delete(user.id)
        await uow.commit()

    assert await spent(uow_factory, mine.code_hash) is None
    assert await spent(uow_factory, kept.code_hash) is not None
    async with uow_factory() as uow:
        assert await uow.oauth_grants.list_of_user(user.id) == []
        assert await uow.oauth_grants.get(someone.id, client.client_id) is not None


async def test_a_code_goes_with_the_browser_session_it_was_authorized_in(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client, browser = await a_signed_in_browser(persist)
    other_browser = a_session(user)
    await persist(other_browser)
    code = an_authorization_code(user, client, browser)
    kept = an_authorization_code(user, client, other_browser)
    await persist(code, kept)

    async with uow_factory() as uow:
        await uow.sessions.revoke(SessionScope.one(user.id, browser.id), NOW)
        await uow.sessions.prune(expired_before=NOW, revoked_before=NOW + timedelta(seconds=1))
        await uow.commit()

    assert await redeem(uow_factory, code.code_hash) is None
    assert await redeem(uow_factory, kept.code_hash) is not None

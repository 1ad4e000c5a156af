"""Grants on SQLite, PostgreSQL and the fakes: consent only widens a grant, however many
consents race; an account lists its own; withdrawing removes one."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.grant import Grant
from domain.oauth_scope import Scope
from tests.integration.builders import NOW, a_grant, a_user, an_oauth_client
from tests.integration.conftest import Persist, UowFactory


async def test_a_first_grant_is_stored_as_given(uow_factory: UowFactory, persist: Persist) -> None:
    user, client = a_user(), an_oauth_client()
    await persist(user, client)
    grant = a_grant(user, client, scopes=frozenset(Scope))

    async with uow_factory() as uow:
        assert await uow.oauth_grants.get(user.id, client.client_id) is None
        assert await uow.oauth_grants.upsert(grant) == grant
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.oauth_grants.get(user.id, client.client_id) == grant


async def test_a_later_consent_joins_its_scopes_to_the_grant(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client = a_user(), an_oauth_client()
    first = a_grant(user, client, scopes=frozenset({Scope.OPENID, Scope.EMAIL}))
    await persist(user, client, first)
    later = Grant.give(user.id, client.client_id, [Scope.OPENID, Scope.PROFILE], NOW)

    async with uow_factory() as uow:
        stored = await uow.oauth_grants.upsert(later)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.oauth_grants.get(user.id, client.client_id) == stored

    assert stored == Grant(
        user_id=user.id,
        client_id=client.client_id,
        scopes=frozenset({Scope.OPENID, Scope.EMAIL, Scope.PROFILE}),
        created_at=first.created_at,
        updated_at=NOW,
    )


async def test_consents_racing_for_one_grant_all_count(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, client = a_user(), an_oauth_client()
    await persist(user, client)
    asked = [Scope.PROFILE, Scope.EMAIL, Scope.OFFLINE_ACCESS]

    async def consent(scope: Scope, n: int) -> None:
        async with uow_factory() as uow:
            moment = NOW + timedelta(seconds=n)
            await uow.oauth_grants.upsert(
                Grant.give(user.id, client.client_id, [Scope.OPENID, scope], moment)
            )
            await uow.commit()

    results = await asyncio.gather(
        *(consent(scope, n) for n, scope in enumerate(asked * 3)), return_exceptions=True
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    async with uow_factory() as uow:
        grant = await uow.oauth_grants.get(user.id, client.client_id)
    assert grant is not None
    assert grant.scopes == frozenset(Scope)


async def test_an_account_lists_its_own_grants_oldest_first(
    uow_factory: UowFactory, persist: Persist
) -> None:
    ada, bob = a_user(), a_user()
    wiki, chat = an_oauth_client(), an_oauth_client()
    older = a_grant(ada, chat, created_at=NOW - timedelta(days=9))
    newer = a_grant(ada, wiki, created_at=NOW - timedelta(days=2))
    await persist(ada, bob, wiki, chat, newer, older, a_grant(bob, wiki))

    async with uow_factory() as uow:
        assert await uow.oauth_grants.list_of_user(ada.id) == [older, newer]
        assert await uow.oauth_grants.list_of_user(a_user().id) == []


async def test_withdrawing_a_grant_removes_it_and_only_it(
    uow_factory: UowFactory, persist: Persist
) -> None:
    ada, bob = a_user(), a_user()
    wiki, chat = an_oauth_client(), an_oauth_client()
    await persist(ada, bob, wiki, chat, a_grant(ada, wiki), a_grant(ada, chat), a_grant(bob, wiki))

    async with uow_factory() as uow:
        assert await uow.oauth_grants.delete(ada.id, wiki.client_id) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.oauth_grants.delete(ada.id, wiki.client_id) is False
        assert await uow.oauth_grants.get(ada.id, wiki.client_id) is None
        assert await uow.oauth_grants.get(ada.id, chat.client_id) is not None
        assert await uow.oauth_grants.get(bob.id, wiki.client_id) is not None

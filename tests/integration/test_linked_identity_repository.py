"""Linked identities and upstream sign-ins in flight, on SQLite, PostgreSQL and the fakes: found
by (provider, subject) only, linked once however many sign-ins race, gone with their account;
a sign-in's state spent by exactly one callback."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from application.errors import IdentityAlreadyLinked
from tests.integration.builders import NOW, a_linked_identity, a_user, an_upstream_sign_in
from tests.integration.conftest import Persist, UowFactory, sql_only


async def test_an_identity_is_found_by_provider_and_subject_and_comes_back_whole(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    identity = a_linked_identity(user, email=None)
    other_provider = a_linked_identity(user, provider="google", subject=identity.subject)
    await persist(user, identity, other_provider)

    async with uow_factory() as uow:
        found = await uow.linked_identities.find("corp", identity.subject)
        elsewhere = await uow.linked_identities.find("google", identity.subject)
        missing = await uow.linked_identities.find("corp", identity.subject.upper())

    assert found == identity
    assert elsewhere == other_provider
    assert missing is None


async def test_the_identities_of_an_account_are_listed_oldest_first(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, other = a_user(), a_user()
    newer = a_linked_identity(user, provider="google")
    older = a_linked_identity(user, created_at=NOW - timedelta(days=3))
    await persist(user, other, newer, older, a_linked_identity(other))

    async with uow_factory() as uow:
        listed = await uow.linked_identities.list_of_user(user.id)

    assert listed == [older, newer]


async def test_an_upstream_account_is_linked_once_however_many_race(
    uow_factory: UowFactory, persist: Persist
) -> None:
    users = [a_user() for _ in range(6)]
    await persist(*users)
    subject = "the-same-upstream-account"

    async def link(user_index: int) -> bool:
        async with uow_factory() as uow:
            try:
                await uow.linked_identities.add(
                    a_linked_identity(users[user_index], subject=subject)
                )
            except IdentityAlreadyLinked:
                return False
            await uow.commit()
            return True

    outcomes = await asyncio.gather(*(link(i) for i in range(len(users))))

    assert outcomes.count(True) == 1
    async with uow_factory() as uow:
        found = await uow.linked_identities.find("corp", subject)
    assert found is not None
    assert found.user_id == users[outcomes.index(True)].id


async def test_the_email_last_seen_is_written_back(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    identity = a_linked_identity(user)
    await persist(user, identity)

    identity.seen_with("ada@new.example.com")
    async with uow_factory() as uow:
        await uow.linked_identities.save_email(identity)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.linked_identities.find("corp", identity.subject) == identity


async def test_only_its_owner_unlinks_an_identity(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, other = a_user(), a_user()
    identity = a_linked_identity(user)
    await persist(user, other, identity)

    async with uow_factory() as uow:
        by_other = await uow.linked_identities.delete(other.id, identity.id)
        by_owner = await uow.linked_identities.delete(user.id, identity.id)
        again = await uow.linked_identities.delete(user.id, identity.id)
        await uow.commit()

    assert (by_other, by_owner, again) == (False, True, False)
    async with uow_factory() as uow:
        assert await uow.linked_identities.find("corp", identity.subject) is None


@sql_only  # the foreign key's cascade
async def test_deleting_an_account_unlinks_its_identities(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    identity = a_linked_identity(user)
    await persist(user, identity)

    async with uow_factory() as uow:
        await uow.users.delete(user.id)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.linked_identities.find("corp", identity.subject) is None


async def test_a_sign_in_comes_back_whole_and_is_redeemed_once(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    sign_in = an_upstream_sign_in(link_user_id=user.id)
    await persist(user, sign_in)

    async with uow_factory() as uow:
        redeemed = await uow.upstream_sign_ins.redeem(sign_in.state_hash, NOW)
        again = await uow.upstream_sign_ins.redeem(sign_in.state_hash, NOW)
        await uow.commit()

    assert redeemed is not None
    assert redeemed.used_at == NOW
    sign_in.used_at = NOW
    assert redeemed == sign_in
    assert again is None


async def test_an_expired_or_unknown_state_redeems_nothing(
    uow_factory: UowFactory, persist: Persist
) -> None:
    expired = an_upstream_sign_in(expires_at=NOW)
    await persist(expired)

    async with uow_factory() as uow:
        assert await uow.upstream_sign_ins.redeem(expired.state_hash, NOW) is None
        assert await uow.upstream_sign_ins.redeem("0" * 64, NOW) is None


async def test_of_callbacks_racing_with_one_state_exactly_one_redeems_it(
    uow_factory: UowFactory, persist: Persist
) -> None:
    sign_in = an_upstream_sign_in()
    await persist(sign_in)

    async def redeem() -> bool:
        async with uow_factory() as uow:
            redeemed = await uow.upstream_sign_ins.redeem(sign_in.state_hash, NOW)
            await uow.commit()
            return redeemed is not None

    outcomes = await asyncio.gather(*(redeem() for _ in range(8)))

    assert outcomes.count(True) == 1


async def test_pruning_deletes_the_sign_ins_expired_before_the_time(
    uow_factory: UowFactory, persist: Persist
) -> None:
    old = an_upstream_sign_in(expires_at=NOW - timedelta(hours=2))
    fresh = an_upstream_sign_in()
    await persist(old, fresh)

    async with uow_factory() as uow:
        pruned = await uow.upstream_sign_ins.prune(expired_before=NOW - timedelta(hours=1))
        await uow.commit()

    assert pruned == 1
    async with uow_factory() as uow:
        assert await uow.upstream_sign_ins.redeem(fresh.state_hash, NOW) is not None

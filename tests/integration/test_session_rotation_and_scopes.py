"""The session repository's refresh-token rotation, revocation scopes, listing and pruning, and
signing-key retirement, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from uuid import UUID, uuid4

from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork
from domain.session import Session
from domain.session_scope import SessionScope
from tests.integration.builders import NOW, a_session, a_signing_key, a_user
from tests.integration.conftest import Persist

UowFactory = Callable[[], SqlAlchemyUnitOfWork]
LATER = NOW + timedelta(minutes=1)


def new_hash() -> str:
    return secrets.token_hex(32)


async def rotate(uow_factory: UowFactory, presented: str, new: str) -> Session | None:
    async with uow_factory() as uow:
        session = await uow.sessions.rotate_refresh_token(presented, new, LATER)
        await uow.commit()
    return session


async def usable_ids(uow_factory: UowFactory, user_id: UUID) -> set[UUID]:
    async with uow_factory() as uow:
        return {session.id for session in await uow.sessions.list_usable_of_user(user_id, NOW)}


# --- rotate_refresh_token / find_by_rotated_token ---------------------------------------------


async def test_rotation_swaps_the_refresh_token_and_remembers_the_old_one(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)
    replacement = new_hash()

    rotated = await rotate(uow_factory, session.refresh_token_hash, replacement)

    assert rotated == replace(session, refresh_token_hash=replacement, last_used_at=LATER)
    async with uow_factory() as uow:
        assert await uow.sessions.find_by_rotated_token(session.refresh_token_hash) == rotated
        assert await uow.sessions.find_by_rotated_token(replacement) is None
        assert await uow.sessions.list_usable_of_user(user.id, NOW) == [rotated]


async def test_an_already_rotated_token_rotates_nothing(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)
    replacement = new_hash()
    await rotate(uow_factory, session.refresh_token_hash, replacement)

    assert await rotate(uow_factory, session.refresh_token_hash, new_hash()) is None
    second = await rotate(uow_factory, replacement, new_hash())
    assert second is not None
    async with uow_factory() as uow:  # every hash the session has traded away leads back to it
        assert (await uow.sessions.find_by_rotated_token(session.refresh_token_hash)) == second
        assert (await uow.sessions.find_by_rotated_token(replacement)) == second


async def test_a_revoked_expired_or_unknown_token_rotates_nothing(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    revoked = a_session(user, revoked_at=NOW)
    expired = a_session(user, expires_at=LATER)  # expiring the instant it is presented
    await persist(user, revoked, expired)

    for presented in (revoked.refresh_token_hash, expired.refresh_token_hash, new_hash()):
        assert await rotate(uow_factory, presented, new_hash()) is None
    async with uow_factory() as uow:
        assert await uow.sessions.find_by_rotated_token(revoked.refresh_token_hash) is None
        assert await uow.sessions.find_by_rotated_token(new_hash()) is None


async def test_a_rotation_without_commit_is_rolled_back(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)

    async with uow_factory() as uow:
        assert await uow.sessions.rotate_refresh_token(
            session.refresh_token_hash, new_hash(), LATER
        )

    async with uow_factory() as uow:
        assert await uow.sessions.find_by_rotated_token(session.refresh_token_hash) is None
        assert await uow.sessions.list_usable_of_user(user.id, NOW) == [session]


async def test_concurrent_rotations_of_one_refresh_token_let_exactly_one_through(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)
    contenders = 20
    start = asyncio.Barrier(contenders)

    async def attempt() -> Session | None:
        await start.wait()
        return await rotate(uow_factory, session.refresh_token_hash, new_hash())

    outcomes = await asyncio.gather(*(attempt() for _ in range(contenders)))

    winners = [outcome for outcome in outcomes if outcome is not None]
    assert len(winners) == 1, outcomes
    async with uow_factory() as uow:
        assert await uow.sessions.list_usable_of_user(user.id, NOW) == winners
        assert await uow.sessions.find_by_rotated_token(session.refresh_token_hash) == winners[0]


# --- revoke(scope) ----------------------------------------------------------------------------


async def test_revoking_one_session_revokes_only_that_one(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, other = a_user(), a_user()
    target, kept = a_session(user), a_session(user)
    others_session = a_session(other)
    await persist(user, other, target, kept, others_session)

    async with uow_factory() as uow:
        assert await uow.sessions.revoke(SessionScope.one(user.id, target.id), NOW) == 1
        # Someone else's session is out of scope even when named.
        assert await uow.sessions.revoke(SessionScope.one(user.id, others_session.id), NOW) == 0
        await uow.commit()

    assert await usable_ids(uow_factory, user.id) == {kept.id}
    assert await usable_ids(uow_factory, other.id) == {others_session.id}


async def test_revoking_the_others_spares_the_current_session(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, other = a_user(), a_user()
    current, *rest = [a_session(user) for _ in range(3)]
    others_session = a_session(other)
    await persist(user, other, current, *rest, others_session)

    async with uow_factory() as uow:
        assert await uow.sessions.revoke(SessionScope.others(user.id, current.id), NOW) == 2
        await uow.commit()

    assert await usable_ids(uow_factory, user.id) == {current.id}
    assert await usable_ids(uow_factory, other.id) == {others_session.id}


async def test_revoking_everything_counts_only_sessions_not_yet_revoked(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, other = a_user(), a_user()
    live = [a_session(user) for _ in range(2)]
    already = a_session(user, revoked_at=NOW - timedelta(days=1))
    others_session = a_session(other)
    await persist(user, other, *live, already, others_session)

    async with uow_factory() as uow:
        assert await uow.sessions.revoke(SessionScope.everything(user.id), NOW) == 2
        assert await uow.sessions.revoke(SessionScope.everything(user.id), NOW) == 0
        await uow.commit()

    assert await usable_ids(uow_factory, user.id) == set()
    assert await usable_ids(uow_factory, other.id) == {others_session.id}


# --- list_usable_of_user ----------------------------------------------------------------------


async def test_the_usable_sessions_of_a_user_list_newest_first(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user, other = a_user(), a_user()
    oldest = a_session(user, created_at=NOW - timedelta(days=3))
    newest = a_session(user, created_at=NOW - timedelta(minutes=1))
    middle = a_session(user, created_at=NOW - timedelta(days=1), user_agent=None, ip=None)
    revoked = a_session(user, revoked_at=NOW - timedelta(seconds=1))
    expired = a_session(user, expires_at=NOW)
    await persist(user, other, oldest, newest, middle, revoked, expired, a_session(other))

    async with uow_factory() as uow:
        listed = await uow.sessions.list_usable_of_user(user.id, NOW)
        assert await uow.sessions.list_usable_of_user(uuid4(), NOW) == []

    assert listed == [newest, middle, oldest]


# --- prune ------------------------------------------------------------------------------------


async def test_pruning_deletes_long_expired_and_long_revoked_sessions_only(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    cutoff = NOW - timedelta(days=7)
    long_expired = a_session(user, expires_at=cutoff - timedelta(seconds=1))
    long_revoked = a_session(user, revoked_at=cutoff - timedelta(seconds=1))
    recently_expired = a_session(user, expires_at=cutoff + timedelta(seconds=1))
    recently_revoked = a_session(user, revoked_at=cutoff + timedelta(seconds=1))
    live = a_session(user)
    await persist(user, long_expired, long_revoked, recently_expired, recently_revoked, live)

    async with uow_factory() as uow:
        pruned = await uow.sessions.prune(expired_before=cutoff, revoked_before=cutoff)
        await uow.commit()

    assert pruned == 2
    async with uow_factory() as uow:  # what survives can still be revoked, so it still exists
        assert await uow.sessions.revoke(SessionScope.everything(user.id), NOW) == 2
        assert await uow.sessions.revoke(SessionScope.one(user.id, recently_expired.id), NOW) == 0


async def test_pruning_a_session_forgets_its_rotated_tokens(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user, expires_at=NOW + timedelta(minutes=5))
    await persist(user, session)
    await rotate(uow_factory, session.refresh_token_hash, new_hash())

    async with uow_factory() as uow:
        assert await uow.sessions.prune(expired_before=NOW + timedelta(days=1), revoked_before=NOW)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.sessions.find_by_rotated_token(session.refresh_token_hash) is None


async def test_deleting_a_user_forgets_their_rotated_tokens(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)
    await rotate(uow_factory, session.refresh_token_hash, new_hash())

    async with uow_factory() as uow:
        await uow.users.delete(user.id)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.sessions.find_by_rotated_token(session.refresh_token_hash) is None


# --- SigningKeyRepository.save ----------------------------------------------------------------


async def test_saving_a_signing_key_writes_back_its_retirement(
    uow_factory: UowFactory, persist: Persist
) -> None:
    key, bystander = a_signing_key(), a_signing_key(created_at=NOW - timedelta(days=1))
    await persist(key, bystander)
    key.retired_at = LATER

    async with uow_factory() as uow:
        await uow.signing_keys.save(key)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.signing_keys.list() == [key, bystander]

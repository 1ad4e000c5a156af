"""The invitations repository on SQLite, PostgreSQL and the in-memory fake alike: found by the
token's hash while usable, accepted once however many transactions race for it, and replaced
by a newer invitation of the same address."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.email import Email
from domain.role import Role
from tests.integration.builders import NOW, a_user, an_invitation
from tests.integration.conftest import Persist, UowFactory

TICK = timedelta(microseconds=1)


async def test_a_usable_invitation_is_found_by_its_token_hash_as_it_was_stored(
    uow_factory: UowFactory, persist: Persist
) -> None:
    invitation = an_invitation(role=Role.ADMIN, name="Grace Hopper — ✓")
    nameless = an_invitation(name=None, invited_by=None)
    await persist(invitation, nameless)

    async with uow_factory() as uow:
        assert await uow.invitations.find_usable(invitation.token_hash, NOW) == invitation
        assert await uow.invitations.find_usable(nameless.token_hash, NOW) == nameless
        assert await uow.invitations.find_usable("0" * 64, NOW) is None


async def test_an_invitation_is_found_until_just_before_its_expiry(
    uow_factory: UowFactory, persist: Persist
) -> None:
    invitation = an_invitation()
    await persist(invitation)

    async with uow_factory() as uow:
        before = await uow.invitations.find_usable(
            invitation.token_hash, invitation.expires_at - TICK
        )
        at = await uow.invitations.find_usable(invitation.token_hash, invitation.expires_at)
    assert before == invitation
    assert at is None


async def test_an_invitation_is_accepted_once(uow_factory: UowFactory, persist: Persist) -> None:
    invitation = an_invitation()
    await persist(invitation)

    async with uow_factory() as uow:
        assert await uow.invitations.accept(invitation.id, NOW) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.invitations.accept(invitation.id, NOW + TICK) is False
        assert await uow.invitations.find_usable(invitation.token_hash, NOW) is None


async def test_an_expired_or_unknown_invitation_is_not_accepted(
    uow_factory: UowFactory, persist: Persist
) -> None:
    invitation = an_invitation()
    await persist(invitation)

    async with uow_factory() as uow:
        assert await uow.invitations.accept(invitation.id, invitation.expires_at) is False
        assert await uow.invitations.accept(an_invitation().id, NOW) is False
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.invitations.find_usable(invitation.token_hash, NOW)
    assert found == invitation


async def test_an_acceptance_that_is_not_committed_spends_nothing(
    uow_factory: UowFactory, persist: Persist
) -> None:
    invitation = an_invitation()
    await persist(invitation)

    async with uow_factory() as uow:
        assert await uow.invitations.accept(invitation.id, NOW)
    async with uow_factory() as uow:
        assert await uow.invitations.find_usable(invitation.token_hash, NOW) == invitation


async def test_of_concurrent_acceptances_of_one_invitation_exactly_one_wins(
    uow_factory: UowFactory, persist: Persist
) -> None:
    invitation = an_invitation()
    await persist(invitation)
    contenders = 8
    start = asyncio.Barrier(contenders)

    async def accept() -> bool:
        await start.wait()
        async with uow_factory() as uow:
            won = await uow.invitations.accept(invitation.id, NOW)
            # The winner makes the account in the same transaction: a row of its own.
            if won:
                await uow.users.add(a_user(email=invitation.email))
            await uow.commit()
            return won

    results = await asyncio.gather(*(accept() for _ in range(contenders)), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert results.count(True) == 1
    async with uow_factory() as uow:
        assert await uow.users.get_by_email(invitation.email) is not None


async def test_withdrawing_deletes_only_the_addresss_pending_invitations(
    uow_factory: UowFactory, persist: Persist
) -> None:
    address = Email("grace@example.com")
    older, newer = an_invitation(email=address), an_invitation(email=address)
    accepted = an_invitation(email=address, accepted_at=NOW - timedelta(days=1))
    elsewhere = an_invitation()
    await persist(older, newer, accepted, elsewhere)

    async with uow_factory() as uow:
        assert await uow.invitations.withdraw_pending(address) == 2
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.invitations.find_usable(older.token_hash, NOW) is None
        assert await uow.invitations.find_usable(newer.token_hash, NOW) is None
        assert await uow.invitations.find_usable(elsewhere.token_hash, NOW) == elsewhere
        # The accepted one stays on record (and could not be accepted again anyway).
        assert await uow.invitations.accept(accepted.id, NOW) is False
        assert await uow.invitations.withdraw_pending(address) == 0

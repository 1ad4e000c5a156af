"""Many sign-ups of one email at the same moment: the database, not luck, lets exactly one in."""

from __future__ import annotations

import asyncio

from application.errors import EmailAlreadyRegistered
from application.ports.persistence import UserFilter
from domain.email import Email
from domain.user import User
from tests.integration.builders import a_user
from tests.integration.conftest import UowFactory

CONTENDERS = 20


async def test_concurrent_registrations_of_one_email_let_exactly_one_in(
    uow_factory: UowFactory,
) -> None:
    # The email is normalised before it reaches this layer, so every contender brings the same.
    email = Email("race@example.com")
    contenders = [a_user(email=email) for _ in range(CONTENDERS)]
    # All start at once. (Not later: a contender holding a connection while it waits for the
    # others would starve the pool, whose size is no business of this test.)
    start = asyncio.Barrier(CONTENDERS)

    async def register(user: User) -> User:
        await start.wait()
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user

    outcomes = await asyncio.gather(
        *(register(user) for user in contenders), return_exceptions=True
    )

    winners = [outcome for outcome in outcomes if isinstance(outcome, User)]
    losers = [outcome for outcome in outcomes if not isinstance(outcome, User)]
    assert len(winners) == 1, outcomes
    assert all(type(loser) is EmailAlreadyRegistered for loser in losers), losers
    async with uow_factory() as uow:
        assert await uow.users.list_page(UserFilter(), after=None, limit=CONTENDERS) == winners


async def test_concurrent_registrations_of_different_emails_all_succeed(
    uow_factory: UowFactory,
) -> None:
    contenders = [a_user() for _ in range(CONTENDERS)]
    start = asyncio.Barrier(CONTENDERS)

    async def register(user: User) -> None:
        await start.wait()
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()

    await asyncio.gather(*(register(user) for user in contenders))

    async with uow_factory() as uow:
        for user in contenders:
            assert await uow.users.get(user.id) == user

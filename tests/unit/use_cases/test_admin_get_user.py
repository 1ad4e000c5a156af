"""GetUser: an admin looks one account up by its id."""

from __future__ import annotations

from uuid import UUID

import pytest

from application.errors import NotFound
from application.use_cases.admin.get_user import GetUser, GetUserQuery
from domain.role import Role
from tests.fakes import FakeUnitOfWorkFactory
from tests.unit.builders import Accounts


async def test_an_admin_gets_the_account_as_stored(
    get_user: GetUser, accounts: Accounts, uow: FakeUnitOfWorkFactory
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com", name="Eve", is_verified=True)

    found = await get_user.execute(GetUserQuery(accounts.signed_in(root), eve.id))

    assert found == eve
    assert uow.commits == 0


async def test_an_admin_gets_a_deactivated_account_too(
    get_user: GetUser, accounts: Accounts
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    gone = await accounts.user("gone@example.com", is_active=False)

    assert await get_user.execute(GetUserQuery(accounts.signed_in(root), gone.id)) == gone


async def test_an_admin_can_look_themself_up(get_user: GetUser, accounts: Accounts) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    assert await get_user.execute(GetUserQuery(accounts.signed_in(root), root.id)) == root


async def test_an_unknown_id_is_not_found(get_user: GetUser, accounts: Accounts) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    with pytest.raises(NotFound):
        await get_user.execute(GetUserQuery(accounts.signed_in(root), UUID(int=999)))

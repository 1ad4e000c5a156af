"""The rule that the service always keeps an active admin: the helpers every use case that
could remove one calls, and a person deleting their own account. (UpdateUser and DeleteUser
have theirs in their own files.)"""

from __future__ import annotations

import pytest

from application.errors import LastAdmin
from application.last_admin import ensure_an_admin_remains, lock_admins
from application.use_cases.delete_account import DeleteAccount, DeleteAccountCommand
from domain.role import Role
from tests.fakes import FakeUnitOfWorkFactory, InMemoryStore
from tests.unit.builders import CALLER, PASSWORD, Accounts, recorded_events, stored_sessions_of

# --- the helpers -------------------------------------------------------------------------------


async def test_the_admins_locked_are_the_active_admins_only(
    uow: FakeUnitOfWorkFactory, accounts: Accounts
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    other = await accounts.user("other-admin@example.com", role=Role.ADMIN)
    await accounts.user("retired@example.com", role=Role.ADMIN, is_active=False)
    await accounts.user("eve@example.com")

    async with uow() as tx:
        assert await lock_admins(tx) == {root.id, other.id}


async def test_a_change_that_leaves_an_active_admin_passes(
    uow: FakeUnitOfWorkFactory, accounts: Accounts
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    await accounts.user("other-admin@example.com", role=Role.ADMIN)

    async with uow() as tx:
        before = await lock_admins(tx)
        await tx.users.delete(root.id)
        await ensure_an_admin_remains(tx, before)


async def test_a_change_that_leaves_no_active_admin_is_refused(
    uow: FakeUnitOfWorkFactory, accounts: Accounts
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    await accounts.user("retired@example.com", role=Role.ADMIN, is_active=False)

    async with uow() as tx:
        before = await lock_admins(tx)
        root.is_active = False
        await tx.users.save(root)
        with pytest.raises(LastAdmin):
            await ensure_an_admin_remains(tx, before)


async def test_a_service_that_had_no_active_admin_is_not_held_to_the_rule(
    uow: FakeUnitOfWorkFactory, accounts: Accounts
) -> None:
    eve = await accounts.user("eve@example.com")
    await accounts.user("retired@example.com", role=Role.ADMIN, is_active=False)

    async with uow() as tx:
        before = await lock_admins(tx)
        await tx.users.delete(eve.id)
        await ensure_an_admin_remains(tx, before)

    assert before == set()


# --- a person deleting their own account -------------------------------------------------------


async def test_the_only_active_admin_cannot_delete_their_own_account(
    delete_account: DeleteAccount,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    session = accounts.session(root)
    await accounts.user("eve@example.com")

    with pytest.raises(LastAdmin):
        await delete_account.execute(
            DeleteAccountCommand(accounts.signed_in(root, session), PASSWORD, CALLER)
        )

    assert store.users[root.id] == root
    assert stored_sessions_of(store, root.id) == [session]
    assert recorded_events(store) == []
    assert uow.commits == 0


async def test_an_admin_can_delete_their_own_account_while_another_active_admin_remains(
    delete_account: DeleteAccount, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    other = await accounts.user("other-admin@example.com", role=Role.ADMIN)

    await delete_account.execute(DeleteAccountCommand(accounts.signed_in(root), PASSWORD, CALLER))

    assert list(store.users) == [other.id]


async def test_a_deactivated_admin_does_not_count_as_the_admin_left(
    delete_account: DeleteAccount, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    retired = await accounts.user("retired@example.com", role=Role.ADMIN, is_active=False)

    with pytest.raises(LastAdmin):
        await delete_account.execute(
            DeleteAccountCommand(accounts.signed_in(root), PASSWORD, CALLER)
        )

    assert set(store.users) == {root.id, retired.id}


async def test_a_plain_user_deletes_their_account_when_the_service_has_no_admin_at_all(
    delete_account: DeleteAccount, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")

    await delete_account.execute(DeleteAccountCommand(accounts.signed_in(eve), PASSWORD, CALLER))

    assert list(store.users) == [bob.id]


async def test_a_plain_user_deletes_their_account_while_an_admin_exists(
    delete_account: DeleteAccount, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")

    await delete_account.execute(DeleteAccountCommand(accounts.signed_in(eve), PASSWORD, CALLER))

    assert list(store.users) == [root.id]

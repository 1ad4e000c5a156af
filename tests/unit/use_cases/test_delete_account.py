from __future__ import annotations

import pytest

from application.errors import InvalidCurrentPassword
from application.use_cases.delete_account import DeleteAccount, DeleteAccountCommand
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from domain.email import Email
from tests.fakes import FakePasswordHasher, FakeUnitOfWorkFactory, InMemoryStore
from tests.unit.builders import PASSWORD, Accounts, stored_sessions_of, stored_user


async def test_deleting_the_account_removes_the_user_and_their_sessions(
    delete_account: DeleteAccount,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user("eve@example.com")
    accounts.session(eve)
    accounts.session(eve)

    await delete_account.execute(DeleteAccountCommand(accounts.signed_in(eve), PASSWORD))

    assert stored_user(store, eve.id) is None
    assert stored_sessions_of(store, eve.id) == []
    assert uow.commits == 1


async def test_deleting_an_account_leaves_other_accounts_and_their_sessions(
    delete_account: DeleteAccount, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    bobs = accounts.session(bob)

    await delete_account.execute(DeleteAccountCommand(accounts.signed_in(eve), PASSWORD))

    assert stored_user(store, bob.id) == bob
    assert stored_sessions_of(store, bob.id) == [bobs]


async def test_a_wrong_password_keeps_the_account_and_its_sessions(
    delete_account: DeleteAccount,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user()
    session = accounts.session(eve)

    with pytest.raises(InvalidCurrentPassword):
        await delete_account.execute(
            DeleteAccountCommand(accounts.signed_in(eve, session), "not the password")
        )

    assert stored_user(store, eve.id) == eve
    assert stored_sessions_of(store, eve.id) == [session]
    assert uow.commits == 0


async def test_the_email_of_a_deleted_account_can_be_registered_again(
    delete_account: DeleteAccount,
    register_user: RegisterUser,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    await delete_account.execute(DeleteAccountCommand(accounts.signed_in(eve), PASSWORD))

    again = await register_user.execute(RegisterUserCommand("Eve@Example.com", PASSWORD))

    assert again.id != eve.id
    assert again.email == Email("eve@example.com")
    assert list(store.users) == [again.id]


async def test_a_password_changed_while_it_was_being_checked_keeps_the_account(
    delete_account: DeleteAccount,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
) -> None:
    eve = await accounts.user()
    concurrent_hash = await hasher.hash("set by a password reset")

    async def reset_the_password() -> None:
        store.users[eve.id].password_hash = concurrent_hash

    hasher.during_verify = reset_the_password

    with pytest.raises(InvalidCurrentPassword):
        await delete_account.execute(DeleteAccountCommand(accounts.signed_in(eve), PASSWORD))

    assert stored_user(store, eve.id) is not None

from __future__ import annotations

import pytest

from application.errors import InvalidAccessToken, InvalidCurrentPassword
from application.use_cases.authenticate import Authenticate, AuthenticateCommand
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from domain.errors import WeakPassword
from domain.session import Session
from domain.user import User
from tests.fakes import FakePasswordHasher, FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import NEW_PASSWORD, PASSWORD, Accounts, stored_user


def password_hash_of(store: InMemoryStore, user: User) -> str:
    found = stored_user(store, user.id)
    assert found is not None
    assert found.password_hash is not None
    return found.password_hash


def revoked(store: InMemoryStore, session: Session) -> bool:
    return store.sessions[session.id].revoked_at is not None


async def test_changing_the_password_stores_a_hash_of_the_new_one(
    change_password: ChangePassword,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user()
    current = accounts.session(eve)

    await change_password.execute(
        ChangePasswordCommand(accounts.signed_in(eve, current), PASSWORD, NEW_PASSWORD)
    )

    stored_hash = password_hash_of(store, eve)
    assert stored_hash != NEW_PASSWORD
    assert await hasher.verify(NEW_PASSWORD, stored_hash)
    assert not await hasher.verify(PASSWORD, stored_hash)
    assert uow.commits == 1


async def test_changing_the_password_revokes_every_other_session_of_that_user_only(
    change_password: ChangePassword, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    current = accounts.session(eve)
    laptop, phone = accounts.session(eve), accounts.session(eve)
    bobs = accounts.session(bob)
    clock.advance(minutes=3)

    await change_password.execute(
        ChangePasswordCommand(accounts.signed_in(eve, current), PASSWORD, NEW_PASSWORD)
    )

    assert store.sessions[laptop.id].revoked_at == clock.now()
    assert store.sessions[phone.id].revoked_at == clock.now()
    assert not revoked(store, current)
    assert not revoked(store, bobs)


async def test_after_a_password_change_only_the_current_sessions_access_token_still_works(
    change_password: ChangePassword, authenticate: Authenticate, accounts: Accounts
) -> None:
    eve = await accounts.user()
    current, stolen = accounts.session(eve), accounts.session(eve)
    current_token = await accounts.access_token(eve, current)
    stolen_token = await accounts.access_token(eve, stolen)

    await change_password.execute(
        ChangePasswordCommand(accounts.signed_in(eve, current), PASSWORD, NEW_PASSWORD)
    )

    assert (await authenticate.execute(AuthenticateCommand(current_token))).session_id == current.id
    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(stolen_token))


async def test_sessions_revoked_before_the_change_keep_their_revocation_time(
    change_password: ChangePassword, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    current = accounts.session(eve)
    logged_out = accounts.revoked_session(eve)
    clock.advance(hours=1)

    await change_password.execute(
        ChangePasswordCommand(accounts.signed_in(eve, current), PASSWORD, NEW_PASSWORD)
    )

    assert store.sessions[logged_out.id].revoked_at == logged_out.revoked_at


async def test_a_wrong_current_password_is_refused_and_nothing_changes(
    change_password: ChangePassword,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user()
    current, other = accounts.session(eve), accounts.session(eve)

    with pytest.raises(InvalidCurrentPassword):
        await change_password.execute(
            ChangePasswordCommand(
                accounts.signed_in(eve, current), "not the password", NEW_PASSWORD
            )
        )

    assert stored_user(store, eve.id) == eve
    assert not revoked(store, other)
    assert uow.commits == 0


@pytest.mark.parametrize("new_password", ["short", "password1", "QWERTYUIOP", "Eve@Example.com"])
async def test_a_weak_new_password_is_refused_and_nothing_changes(
    change_password: ChangePassword, accounts: Accounts, store: InMemoryStore, new_password: str
) -> None:
    eve = await accounts.user("eve@example.com")
    current, other = accounts.session(eve), accounts.session(eve)

    with pytest.raises(WeakPassword):
        await change_password.execute(
            ChangePasswordCommand(accounts.signed_in(eve, current), PASSWORD, new_password)
        )

    assert stored_user(store, eve.id) == eve
    assert not revoked(store, other)


async def test_a_password_changed_while_the_current_one_was_being_checked_is_not_overwritten(
    change_password: ChangePassword,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
) -> None:
    eve = await accounts.user()
    current = accounts.session(eve)
    concurrent_hash = await hasher.hash("set by a password reset")

    async def reset_the_password() -> None:
        store.users[eve.id].password_hash = concurrent_hash

    hasher.during_verify = reset_the_password

    with pytest.raises(InvalidCurrentPassword):
        await change_password.execute(
            ChangePasswordCommand(accounts.signed_in(eve, current), PASSWORD, NEW_PASSWORD)
        )

    assert password_hash_of(store, eve) == concurrent_hash

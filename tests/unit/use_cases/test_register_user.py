from __future__ import annotations

import pytest

from application.errors import EmailAlreadyRegistered
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from domain.email import Email
from domain.errors import InvalidDisplayName, InvalidEmail, WeakPassword
from domain.role import Role
from tests.fakes import FakePasswordHasher, FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import PASSWORD, Accounts, stored_user


async def test_signing_up_stores_a_hash_of_the_password_never_the_password(
    register_user: RegisterUser, store: InMemoryStore, hasher: FakePasswordHasher
) -> None:
    user = await register_user.execute(RegisterUserCommand("eve@example.com", PASSWORD))

    stored = stored_user(store, user.id)
    assert stored is not None
    assert stored.password_hash != PASSWORD
    assert stored.password_hash == await hasher.hash(PASSWORD)
    assert await hasher.verify(PASSWORD, stored.password_hash)


async def test_signing_up_stores_the_normalised_email_and_commits(
    register_user: RegisterUser, store: InMemoryStore, uow: FakeUnitOfWorkFactory
) -> None:
    user = await register_user.execute(RegisterUserCommand("  Eve@Example.COM ", PASSWORD))

    assert user.email == Email("eve@example.com")
    assert stored_user(store, user.id) == user
    assert uow.commits == 1


async def test_a_new_account_is_an_active_unverified_plain_user_created_now(
    register_user: RegisterUser, clock: FixedClock
) -> None:
    user = await register_user.execute(RegisterUserCommand("eve@example.com", PASSWORD, "Eve"))

    assert user.role is Role.USER
    assert (user.is_active, user.is_verified) == (True, False)
    assert user.name == "Eve"
    assert user.created_at == user.updated_at == clock.now()


async def test_an_admin_can_create_an_admin_account(
    register_user: RegisterUser, store: InMemoryStore
) -> None:
    user = await register_user.execute(
        RegisterUserCommand("root@example.com", PASSWORD, role=Role.ADMIN)
    )

    stored = stored_user(store, user.id)
    assert stored is not None
    assert stored.role is Role.ADMIN


@pytest.mark.parametrize(
    "password", ["short", "password1", "PASSWORD1", "eve@example.com", "EVE@EXAMPLE.COM", "x" * 257]
)
async def test_a_weak_password_is_refused_and_nothing_is_stored(
    register_user: RegisterUser, store: InMemoryStore, uow: FakeUnitOfWorkFactory, password: str
) -> None:
    with pytest.raises(WeakPassword):
        await register_user.execute(RegisterUserCommand("Eve@Example.com", password))

    assert store.users == {}
    assert uow.commits == 0


@pytest.mark.parametrize("email", ["eve@example.com", "EVE@example.com", " Eve@EXAMPLE.com "])
async def test_an_email_already_registered_in_any_case_is_refused_and_nothing_new_is_stored(
    register_user: RegisterUser,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
    email: str,
) -> None:
    existing = await accounts.user("eve@example.com", name="The first Eve")

    with pytest.raises(EmailAlreadyRegistered):
        await register_user.execute(RegisterUserCommand(email, "another long passphrase", "Eve"))

    assert list(store.users.values()) == [existing]
    assert uow.commits == 0


async def test_an_invalid_email_is_refused_and_nothing_is_stored(
    register_user: RegisterUser, store: InMemoryStore
) -> None:
    with pytest.raises(InvalidEmail):
        await register_user.execute(RegisterUserCommand("Eve <eve@example.com>", PASSWORD))

    assert store.users == {}


async def test_an_invalid_name_is_refused_and_nothing_is_stored(
    register_user: RegisterUser, store: InMemoryStore
) -> None:
    with pytest.raises(InvalidDisplayName):
        await register_user.execute(RegisterUserCommand("eve@example.com", PASSWORD, "n" * 101))

    assert store.users == {}


async def test_two_people_signing_up_get_two_accounts(
    register_user: RegisterUser, store: InMemoryStore
) -> None:
    eve = await register_user.execute(RegisterUserCommand("eve@example.com", PASSWORD))
    bob = await register_user.execute(RegisterUserCommand("bob@example.com", PASSWORD))

    assert eve.id != bob.id
    assert set(store.users) == {eve.id, bob.id}

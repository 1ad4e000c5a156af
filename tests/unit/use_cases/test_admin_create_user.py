"""CreateUser: an admin opens an account for someone, with any role."""

from __future__ import annotations

import pytest

from application.errors import EmailAlreadyRegistered
from application.use_cases.admin.create_user import CreateUser, CreateUserCommand
from domain.audit_event import AuditEventType
from domain.email import Email
from domain.errors import InvalidEmail, WeakPassword
from domain.role import Role
from tests.fakes import FakePasswordHasher, FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import (
    CALLER,
    PASSWORD,
    Accounts,
    events_about,
    recorded_events,
    stored_user,
)


@pytest.mark.parametrize("role", [Role.USER, Role.ADMIN])
async def test_an_admin_creates_an_active_unverified_account_with_the_role_given(
    create_user: CreateUser,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
    role: Role,
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    created = await create_user.execute(
        CreateUserCommand(
            accounts.signed_in(root), " Ada@Example.com ", PASSWORD, "Ada", role=role, caller=CALLER
        )
    )

    assert stored_user(store, created.id) == created
    assert created.email == Email("ada@example.com")
    assert (created.name, created.role) == ("Ada", role)
    assert (created.is_active, created.is_verified) == (True, False)
    assert created.created_at == clock.now()
    assert await hasher.verify(PASSWORD, created.password_hash)
    assert uow.commits == 1


async def test_creating_an_account_records_user_created_by_the_admin_from_where_they_were(
    create_user: CreateUser, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    clock.advance(minutes=5)

    created = await create_user.execute(
        CreateUserCommand(
            accounts.signed_in(root), "ada@example.com", PASSWORD, role=Role.ADMIN, caller=CALLER
        )
    )

    [event] = events_about(store, created.id)
    assert event.type is AuditEventType.USER_CREATED
    assert (event.user_id, event.actor_id) == (created.id, root.id)
    assert (event.ip, event.user_agent) == (CALLER.ip, CALLER.user_agent)
    assert event.created_at == clock.now()
    assert event.data == {"role": "admin"}


async def test_an_email_already_registered_is_refused_and_nothing_is_stored_or_recorded(
    create_user: CreateUser, accounts: Accounts, store: InMemoryStore, uow: FakeUnitOfWorkFactory
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")

    with pytest.raises(EmailAlreadyRegistered):
        await create_user.execute(
            CreateUserCommand(accounts.signed_in(root), "EVE@example.com", PASSWORD)
        )

    assert list(store.users) == [root.id, eve.id]
    assert recorded_events(store) == []
    assert uow.commits == 0


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        pytest.param("ada@example.com", "password1", WeakPassword, id="weak"),
        pytest.param("Ada <ada@example.com>", PASSWORD, InvalidEmail, id="email"),
    ],
)
async def test_an_invalid_account_is_refused_and_nothing_is_stored_or_recorded(
    create_user: CreateUser,
    accounts: Accounts,
    store: InMemoryStore,
    email: str,
    password: str,
    error: type[Exception],
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    with pytest.raises(error):
        await create_user.execute(CreateUserCommand(accounts.signed_in(root), email, password))

    assert list(store.users) == [root.id]
    assert recorded_events(store) == []

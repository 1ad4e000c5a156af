"""CreateOrPromoteAdmin (`portcullis create-admin`): the account with this email becomes an
active admin, created with the given password if there is none; an existing one keeps its
password."""

from __future__ import annotations

import pytest

from application.errors import NewAccountNeedsPassword
from application.use_cases.admin.create_or_promote_admin import (
    AdminOutcome,
    CreateOrPromoteAdmin,
    CreateOrPromoteAdminCommand,
)
from domain.audit_event import AuditEventType
from domain.email import Email
from domain.errors import InvalidEmail, WeakPassword
from domain.role import Role
from domain.user import User
from tests.fakes import FakePasswordHasher, FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import NEW_PASSWORD, PASSWORD, Accounts, recorded_events, stored_user


def stored(store: InMemoryStore, user: User) -> User:
    found = stored_user(store, user.id)
    assert found is not None
    return found


async def test_an_existing_account_is_promoted_and_keeps_its_password(
    create_or_promote_admin: CreateOrPromoteAdmin,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    ada = await accounts.user("ada@example.com", name="Ada", is_verified=True)
    clock.advance(minutes=1)

    outcome = await create_or_promote_admin.execute(
        CreateOrPromoteAdminCommand(email=" ADA@example.com ")
    )

    assert outcome == AdminOutcome(email="ada@example.com", created=False)
    after = stored(store, ada)
    assert (after.role, after.is_active) == (Role.ADMIN, True)
    assert after.password_hash == ada.password_hash
    assert (after.email, after.name, after.is_verified) == (ada.email, "Ada", True)
    assert after.updated_at == clock.now()
    assert list(store.users) == [ada.id]
    assert uow.commits == 1


async def test_a_password_given_for_an_existing_account_is_not_used(
    create_or_promote_admin: CreateOrPromoteAdmin, accounts: Accounts, store: InMemoryStore
) -> None:
    ada = await accounts.user("ada@example.com")

    await create_or_promote_admin.execute(
        CreateOrPromoteAdminCommand(email="ada@example.com", password=NEW_PASSWORD)
    )

    assert stored(store, ada).password_hash == ada.password_hash


async def test_promoting_records_the_role_change_by_the_operator(
    create_or_promote_admin: CreateOrPromoteAdmin,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    ada = await accounts.user("ada@example.com")
    clock.advance(minutes=1)

    await create_or_promote_admin.execute(CreateOrPromoteAdminCommand(email="ada@example.com"))

    [event] = recorded_events(store)
    assert event.type is AuditEventType.ROLE_CHANGED
    assert (event.user_id, event.actor_id) == (ada.id, None)
    assert (event.ip, event.user_agent) == (None, None)
    assert event.created_at == clock.now()
    assert event.data == {"old": "user", "new": "admin", "via": "cli"}


async def test_a_deactivated_account_is_reactivated_as_an_admin(
    create_or_promote_admin: CreateOrPromoteAdmin, accounts: Accounts, store: InMemoryStore
) -> None:
    ada = await accounts.user("ada@example.com", is_active=False)

    await create_or_promote_admin.execute(CreateOrPromoteAdminCommand(email="ada@example.com"))

    assert (stored(store, ada).role, stored(store, ada).is_active) == (Role.ADMIN, True)
    assert [(e.type, e.user_id, e.actor_id) for e in recorded_events(store)] == [
        (AuditEventType.ROLE_CHANGED, ada.id, None),
        (AuditEventType.ACTIVATED, ada.id, None),
    ]


async def test_a_deactivated_admin_is_reactivated_without_a_role_change(
    create_or_promote_admin: CreateOrPromoteAdmin, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN, is_active=False)

    await create_or_promote_admin.execute(CreateOrPromoteAdminCommand(email="root@example.com"))

    assert stored(store, root).is_active is True
    assert [event.type for event in recorded_events(store)] == [AuditEventType.ACTIVATED]


async def test_an_active_admin_stays_one_and_nothing_is_recorded(
    create_or_promote_admin: CreateOrPromoteAdmin, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    outcome = await create_or_promote_admin.execute(
        CreateOrPromoteAdminCommand(email="root@example.com")
    )

    assert outcome == AdminOutcome(email="root@example.com", created=False)
    assert (stored(store, root).role, stored(store, root).is_active) == (Role.ADMIN, True)
    assert stored(store, root).password_hash == root.password_hash
    assert recorded_events(store) == []


async def test_without_an_account_one_is_created_as_an_admin_with_the_password(
    create_or_promote_admin: CreateOrPromoteAdmin,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    clock: FixedClock,
) -> None:
    outcome = await create_or_promote_admin.execute(
        CreateOrPromoteAdminCommand(email=" Root@Example.com", password=PASSWORD)
    )

    assert outcome == AdminOutcome(email="root@example.com", created=True)
    [root] = store.users.values()
    assert root.email == Email("root@example.com")
    assert (root.role, root.is_active, root.is_verified) == (Role.ADMIN, True, False)
    assert await hasher.verify(PASSWORD, root.password_hash)
    assert root.created_at == clock.now()


async def test_creating_an_admin_records_user_created_by_the_operator(
    create_or_promote_admin: CreateOrPromoteAdmin, store: InMemoryStore
) -> None:
    await create_or_promote_admin.execute(
        CreateOrPromoteAdminCommand(email="root@example.com", password=PASSWORD)
    )

    [root] = store.users.values()
    [event] = recorded_events(store)
    assert event.type is AuditEventType.USER_CREATED
    assert (event.user_id, event.actor_id) == (root.id, None)
    assert (event.ip, event.user_agent) == (None, None)
    assert event.data == {"role": "admin", "via": "cli"}


async def test_a_new_account_needs_a_password_and_nothing_is_stored(
    create_or_promote_admin: CreateOrPromoteAdmin,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    with pytest.raises(NewAccountNeedsPassword):
        await create_or_promote_admin.execute(CreateOrPromoteAdminCommand(email="root@example.com"))

    assert store.users == {}
    assert recorded_events(store) == []
    assert uow.commits == 0


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        pytest.param("root@example.com", "password1", WeakPassword, id="weak password"),
        pytest.param("root@example.com", "Root@Example.com", WeakPassword, id="password = email"),
        pytest.param("Root <root@example.com>", PASSWORD, InvalidEmail, id="not an email"),
    ],
)
async def test_an_invalid_new_admin_is_refused_and_nothing_is_stored(
    create_or_promote_admin: CreateOrPromoteAdmin,
    store: InMemoryStore,
    email: str,
    password: str,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        await create_or_promote_admin.execute(
            CreateOrPromoteAdminCommand(email=email, password=password)
        )

    assert store.users == {}
    assert recorded_events(store) == []

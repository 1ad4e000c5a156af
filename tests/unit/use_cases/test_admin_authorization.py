"""Every admin use case decides for itself who may use it: anyone but an active admin is
Forbidden before anything is read or changed."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from uuid import UUID

import pytest

from application.caller import Principal
from application.errors import Forbidden
from application.use_cases.admin.create_user import CreateUser, CreateUserCommand
from application.use_cases.admin.delete_user import DeleteUser, DeleteUserCommand
from application.use_cases.admin.get_user import GetUser, GetUserQuery
from application.use_cases.admin.list_audit_events import ListAuditEvents, ListAuditEventsQuery
from application.use_cases.admin.list_users import ListUsers, ListUsersQuery
from application.use_cases.admin.update_user import UpdateUser, UpdateUserCommand
from domain.role import Role
from domain.user import User
from tests.fakes import FakeUnitOfWorkFactory, InMemoryStore
from tests.unit.builders import CALLER, PASSWORD, Accounts, AuditTrail, stored_user

# What an admin use case is asked to do, by `actor`, to the account `target`.
AdminCall = Callable[[Principal, User], Awaitable[object]]

ADMIN_USE_CASES = [
    "list users",
    "get a user",
    "create a user",
    "update a user",
    "delete a user",
    "list audit events",
]
NOT_ADMINS = {
    "a plain user": (Role.USER, True),
    "a deactivated plain user": (Role.USER, False),
    "a deactivated admin": (Role.ADMIN, False),
}


@pytest.fixture
def admin_calls(
    list_users: ListUsers,
    get_user: GetUser,
    create_user: CreateUser,
    update_user: UpdateUser,
    delete_user: DeleteUser,
    list_audit_events: ListAuditEvents,
) -> dict[str, AdminCall]:
    return {
        "list users": lambda actor, _: list_users.execute(ListUsersQuery(actor, limit=10)),
        "get a user": lambda actor, target: get_user.execute(GetUserQuery(actor, target.id)),
        "create a user": lambda actor, _: create_user.execute(
            CreateUserCommand(actor, "new@example.com", PASSWORD, role=Role.ADMIN)
        ),
        "update a user": lambda actor, target: update_user.execute(
            UpdateUserCommand(
                actor,
                target.id,
                CALLER,
                name="Taken over",
                role=Role.ADMIN,
                is_active=False,
            )
        ),
        "delete a user": lambda actor, target: delete_user.execute(
            DeleteUserCommand(actor, target.id, CALLER)
        ),
        "list audit events": lambda actor, _: list_audit_events.execute(
            ListAuditEventsQuery(actor, limit=10)
        ),
    }


@pytest.mark.parametrize("actor_kind", NOT_ADMINS)
@pytest.mark.parametrize("use_case", ADMIN_USE_CASES)
async def test_anyone_but_an_active_admin_is_forbidden_and_nothing_is_read_or_changed(
    admin_calls: dict[str, AdminCall],
    accounts: Accounts,
    trail: AuditTrail,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
    use_case: str,
    actor_kind: str,
) -> None:
    await accounts.user("root@example.com", role=Role.ADMIN)
    role, is_active = NOT_ADMINS[actor_kind]
    mallory = await accounts.user("mallory@example.com", role=role, is_active=is_active)
    actor = accounts.signed_in(mallory)
    bob = await accounts.user("bob@example.com")
    accounts.session(bob)
    trail.event(user_id=bob.id)
    before = copy.deepcopy(store)

    with pytest.raises(Forbidden):
        await admin_calls[use_case](actor, bob)

    assert store == before
    assert uow.opened == []


@pytest.mark.parametrize("use_case", ADMIN_USE_CASES)
async def test_an_active_admin_is_let_through(
    admin_calls: dict[str, AdminCall], accounts: Accounts, use_case: str
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    bob = await accounts.user("bob@example.com")

    await admin_calls[use_case](accounts.signed_in(root), bob)


async def test_a_plain_user_cannot_make_themself_an_admin(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")

    with pytest.raises(Forbidden):
        await update_user.execute(
            UpdateUserCommand(accounts.signed_in(eve), eve.id, CALLER, role=Role.ADMIN)
        )

    assert stored_user(store, eve.id) == eve


async def test_a_non_admin_asking_for_an_unknown_account_learns_nothing_but_forbidden(
    get_user: GetUser, accounts: Accounts
) -> None:
    eve = await accounts.user("eve@example.com")

    with pytest.raises(Forbidden):
        await get_user.execute(GetUserQuery(accounts.signed_in(eve), UUID(int=999)))


async def test_authorization_comes_before_checking_what_was_sent(
    update_user: UpdateUser, list_users: ListUsers, accounts: Accounts
) -> None:
    eve = await accounts.user("eve@example.com")

    with pytest.raises(Forbidden):
        await update_user.execute(
            UpdateUserCommand(accounts.signed_in(eve), eve.id, CALLER, email="not an email")
        )
    with pytest.raises(Forbidden):
        await list_users.execute(
            ListUsersQuery(accounts.signed_in(eve), limit=10, cursor="garbage!")
        )

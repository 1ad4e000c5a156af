"""DeleteUser: an admin deletes an account, its sessions with it; never the last active admin."""

from __future__ import annotations

from uuid import UUID

import pytest

from application.errors import LastAdmin, NotFound
from application.use_cases.admin.delete_user import DeleteUser, DeleteUserCommand
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from domain.audit_event import AuditEventType
from domain.role import Role
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import (
    CALLER,
    PASSWORD,
    Accounts,
    AuditTrail,
    recorded_events,
    stored_sessions_of,
    stored_user,
)


async def test_an_admin_deletes_an_account_and_its_sessions(
    delete_user: DeleteUser, accounts: Accounts, store: InMemoryStore, uow: FakeUnitOfWorkFactory
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")
    accounts.session(eve)
    accounts.revoked_session(eve)

    await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), eve.id, CALLER))

    assert stored_user(store, eve.id) is None
    assert stored_sessions_of(store, eve.id) == []
    assert uow.commits == 1


async def test_deleting_an_account_leaves_the_others_and_their_sessions(
    delete_user: DeleteUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    roots = accounts.session(root)
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    bobs = accounts.session(bob)

    await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), eve.id, CALLER))

    assert set(store.users) == {root.id, bob.id}
    assert stored_sessions_of(store, bob.id) == [bobs]
    assert stored_sessions_of(store, root.id) == [roots]


async def test_deleting_an_account_records_user_deleted_by_the_admin(
    delete_user: DeleteUser, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")
    clock.advance(minutes=1)

    await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), eve.id, CALLER))

    [event] = recorded_events(store)
    assert event.type is AuditEventType.DELETED
    assert (event.user_id, event.actor_id) == (eve.id, root.id)
    assert (event.ip, event.user_agent) == (CALLER.ip, CALLER.user_agent)
    assert event.created_at == clock.now()
    assert event.data == {"email": "eve@example.com"}


async def test_the_audit_trail_of_a_deleted_account_outlives_it(
    delete_user: DeleteUser, accounts: Accounts, trail: AuditTrail, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")
    signed_up = trail.event(AuditEventType.SIGNED_UP, user_id=eve.id)

    await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), eve.id, CALLER))

    assert [event.type for event in recorded_events(store)] == [
        AuditEventType.SIGNED_UP,
        AuditEventType.DELETED,
    ]
    assert recorded_events(store)[0] == signed_up


async def test_the_email_of_a_deleted_account_is_free_again(
    delete_user: DeleteUser, register_user: RegisterUser, accounts: Accounts
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")
    await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), eve.id, CALLER))

    again = await register_user.execute(RegisterUserCommand("eve@example.com", PASSWORD))

    assert again.id != eve.id


async def test_an_unknown_account_is_not_found_and_nothing_is_recorded(
    delete_user: DeleteUser, accounts: Accounts, store: InMemoryStore, uow: FakeUnitOfWorkFactory
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    with pytest.raises(NotFound):
        await delete_user.execute(
            DeleteUserCommand(accounts.signed_in(root), UUID(int=999), CALLER)
        )

    assert list(store.users) == [root.id]
    assert recorded_events(store) == []
    assert uow.commits == 0


async def test_the_only_active_admin_cannot_delete_themself(
    delete_user: DeleteUser, accounts: Accounts, store: InMemoryStore, uow: FakeUnitOfWorkFactory
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    session = accounts.session(root)
    await accounts.user("eve@example.com")

    with pytest.raises(LastAdmin):
        await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), root.id, CALLER))

    assert stored_user(store, root.id) == root
    assert stored_sessions_of(store, root.id) == [session]
    assert recorded_events(store) == []
    assert uow.commits == 0


async def test_an_admin_can_delete_another_admin_or_themself_while_one_remains(
    delete_user: DeleteUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    other = await accounts.user("other-admin@example.com", role=Role.ADMIN)
    third = await accounts.user("third-admin@example.com", role=Role.ADMIN)

    await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), other.id, CALLER))
    await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), root.id, CALLER))

    assert list(store.users) == [third.id]


async def test_a_deactivated_admin_does_not_count_as_an_admin_left(
    delete_user: DeleteUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    retired = await accounts.user("retired@example.com", role=Role.ADMIN, is_active=False)

    with pytest.raises(LastAdmin):
        await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), root.id, CALLER))

    assert set(store.users) == {root.id, retired.id}


async def test_deleting_a_deactivated_admin_leaves_the_active_one(
    delete_user: DeleteUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    retired = await accounts.user("retired@example.com", role=Role.ADMIN, is_active=False)

    await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), retired.id, CALLER))

    assert list(store.users) == [root.id]

"""UpdateUser: an admin fixes an account. Only what is sent changes; deactivating ends every
session at once; no change may leave the service without an active admin."""

from __future__ import annotations

from uuid import UUID

import pytest

from application.errors import EmailAlreadyRegistered, InvalidAccessToken, LastAdmin, NotFound
from application.unset import UNSET, Unset
from application.use_cases.admin.update_user import UpdateUser, UpdateUserCommand
from application.use_cases.authenticate import Authenticate, AuthenticateCommand
from domain.audit_event import AuditEventType
from domain.email import Email
from domain.errors import InvalidDisplayName, InvalidEmail
from domain.role import Role
from domain.user import User
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import (
    CALLER,
    Accounts,
    events_about,
    is_revoked,
    recorded_events,
    stored_session,
    stored_user,
)


def stored(store: InMemoryStore, user: User) -> User:
    found = stored_user(store, user.id)
    assert found is not None
    return found


async def an_admin(accounts: Accounts, email: str = "root@example.com") -> User:
    return await accounts.user(email, role=Role.ADMIN)


# --- each field --------------------------------------------------------------------------------


async def test_an_admin_renames_an_account(
    update_user: UpdateUser,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com", name="Eve")
    clock.advance(minutes=1)

    updated = await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, name="Eve Adams")
    )

    assert updated.name == "Eve Adams"
    assert updated.updated_at == clock.now()
    assert stored(store, eve) == updated
    assert uow.commits == 1


async def test_an_explicit_null_clears_the_name(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com", name="Eve")

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, name=None)
    )

    assert stored(store, eve).name is None


async def test_a_new_email_is_stored_normalised_and_must_be_verified_again(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com", is_verified=True)
    clock.advance(minutes=1)

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, email=" Eve@New.Example ")
    )

    after = stored(store, eve)
    assert after.email == Email("eve@new.example")
    assert after.is_verified is False
    assert after.updated_at == clock.now()


async def test_an_admin_can_change_the_email_and_vouch_for_it_at_once(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com")

    await update_user.execute(
        UpdateUserCommand(
            accounts.signed_in(root), eve.id, CALLER, email="eve@new.example", is_verified=True
        )
    )

    after = stored(store, eve)
    assert (after.email, after.is_verified) == (Email("eve@new.example"), True)


async def test_the_same_email_in_another_case_changes_nothing_and_records_nothing(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com", is_verified=True)
    clock.advance(minutes=1)

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, email="EVE@example.com")
    )

    assert stored(store, eve) == eve
    assert recorded_events(store) == []


@pytest.mark.parametrize("is_verified", [True, False])
async def test_an_admin_sets_the_verified_flag(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, is_verified: bool
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com", is_verified=not is_verified)

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, is_verified=is_verified)
    )

    assert stored(store, eve).is_verified is is_verified


async def test_sending_nothing_changes_nothing_and_records_nothing(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com", name="Eve", is_verified=True)
    session = accounts.session(eve)
    clock.advance(minutes=1)

    returned = await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER)
    )

    assert returned == eve
    assert stored(store, eve) == eve
    assert not is_revoked(store, session)
    assert recorded_events(store) == []


async def test_fields_not_sent_are_left_alone(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com", name="Eve", is_verified=True)

    await update_user.execute(
        UpdateUserCommand(
            accounts.signed_in(root),
            eve.id,
            CALLER,
            name="Eve Adams",
            email=UNSET,
            role=UNSET,
            is_active=UNSET,
            is_verified=UNSET,
        )
    )

    after = stored(store, eve)
    assert after.name == "Eve Adams"
    assert (after.email, after.role, after.is_active, after.is_verified) == (
        eve.email,
        Role.USER,
        True,
        True,
    )
    assert after.password_hash == eve.password_hash


# --- deactivation and reactivation -------------------------------------------------------------


async def test_deactivating_an_account_revokes_every_session_of_it_at_once(
    update_user: UpdateUser,
    authenticate: Authenticate,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    root = await an_admin(accounts)
    roots = accounts.session(root)
    eve = await accounts.user("eve@example.com")
    laptop, phone = accounts.session(eve), accounts.session(eve)
    token = await accounts.access_token(eve, laptop)
    clock.advance(minutes=1)

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, is_active=False)
    )

    assert stored(store, eve).is_active is False
    assert stored_session(store, laptop.id).revoked_at == clock.now()
    assert stored_session(store, phone.id).revoked_at == clock.now()
    assert not is_revoked(store, roots)
    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(token))


async def test_deactivating_records_user_deactivated_by_the_admin(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com")
    accounts.session(eve)
    clock.advance(minutes=1)

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, is_active=False)
    )

    [event] = recorded_events(store)
    assert event.type is AuditEventType.DEACTIVATED
    assert (event.user_id, event.actor_id) == (eve.id, root.id)
    assert (event.ip, event.user_agent) == (CALLER.ip, CALLER.user_agent)
    assert event.created_at == clock.now()
    assert event.data == {}


async def test_reactivating_an_account_records_user_activated_and_leaves_old_sessions_revoked(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com", is_active=False)
    old = accounts.revoked_session(eve)
    clock.advance(hours=1)

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, is_active=True)
    )

    assert stored(store, eve).is_active is True
    assert stored_session(store, old.id).revoked_at == old.revoked_at
    [event] = recorded_events(store)
    assert event.type is AuditEventType.ACTIVATED
    assert (event.user_id, event.actor_id) == (eve.id, root.id)


async def test_deactivating_an_account_already_inactive_records_nothing(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com", is_active=False)

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, is_active=False)
    )

    assert stored(store, eve).is_active is False
    assert recorded_events(store) == []


# --- role --------------------------------------------------------------------------------------


async def test_promoting_an_account_records_the_old_and_the_new_role(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com")
    clock.advance(minutes=1)

    updated = await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, role=Role.ADMIN)
    )

    assert stored(store, eve).role is Role.ADMIN
    assert updated.updated_at == clock.now()
    [event] = recorded_events(store)
    assert event.type is AuditEventType.ROLE_CHANGED
    assert (event.user_id, event.actor_id) == (eve.id, root.id)
    assert (event.ip, event.user_agent) == (CALLER.ip, CALLER.user_agent)
    assert event.data == {"old": "user", "new": "admin"}


async def test_setting_the_role_an_account_already_has_records_nothing(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com")

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, role=Role.USER)
    )

    assert recorded_events(store) == []


async def test_several_changes_at_once_record_one_event_each(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    other = await an_admin(accounts, "other-admin@example.com")

    await update_user.execute(
        UpdateUserCommand(
            accounts.signed_in(root),
            other.id,
            CALLER,
            name="Demoted",
            email="x@example.com",
            role=Role.USER,
            is_active=False,
        )
    )

    events = events_about(store, other.id)
    assert [event.type for event in events] == [
        AuditEventType.ROLE_CHANGED,
        AuditEventType.DEACTIVATED,
        AuditEventType.EMAIL_CHANGED,
    ]
    assert all(event.actor_id == root.id for event in events)
    assert events[0].data == {"old": "admin", "new": "user"}


async def test_an_email_change_records_email_changed_by_the_admin(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com")

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, email="eve@new.example")
    )

    [event] = recorded_events(store)
    assert event.type is AuditEventType.EMAIL_CHANGED
    assert (event.user_id, event.actor_id) == (eve.id, root.id)
    assert (event.ip, event.user_agent) == (CALLER.ip, CALLER.user_agent)


async def test_a_rename_alone_records_nothing(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com")

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, name="Eve")
    )

    assert recorded_events(store) == []


# --- refusals ----------------------------------------------------------------------------------


async def test_an_email_another_account_has_is_refused_and_nothing_changes(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, uow: FakeUnitOfWorkFactory
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com")
    await accounts.user("bob@example.com")
    session = accounts.session(eve)

    with pytest.raises(EmailAlreadyRegistered):
        await update_user.execute(
            UpdateUserCommand(
                accounts.signed_in(root),
                eve.id,
                CALLER,
                email="BOB@example.com",
                name="Bob?",
                role=Role.ADMIN,
                is_active=False,
            )
        )

    assert stored(store, eve) == eve
    assert not is_revoked(store, session)
    assert recorded_events(store) == []
    assert uow.commits == 0


@pytest.mark.parametrize(
    ("email", "name", "error"),
    [
        pytest.param("Eve <eve@example.com>", UNSET, InvalidEmail, id="email"),
        pytest.param(UNSET, "n" * 101, InvalidDisplayName, id="name"),
    ],
)
async def test_an_invalid_value_is_refused_and_nothing_changes(
    update_user: UpdateUser,
    accounts: Accounts,
    store: InMemoryStore,
    email: str | Unset,
    name: str | Unset,
    error: type[Exception],
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com", name="Eve")

    with pytest.raises(error):
        await update_user.execute(
            UpdateUserCommand(
                accounts.signed_in(root), eve.id, CALLER, name=name, email=email, role=Role.ADMIN
            )
        )

    assert stored(store, eve) == eve
    assert recorded_events(store) == []


async def test_an_unknown_account_is_not_found_and_nothing_is_committed(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, uow: FakeUnitOfWorkFactory
) -> None:
    root = await an_admin(accounts)

    with pytest.raises(NotFound):
        await update_user.execute(
            UpdateUserCommand(accounts.signed_in(root), UUID(int=999), CALLER, name="Ghost")
        )

    assert list(store.users) == [root.id]
    assert uow.commits == 0


# --- the last active admin ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "is_active"),
    [
        pytest.param(Role.USER, UNSET, id="demoting"),
        pytest.param(UNSET, False, id="deactivating"),
        pytest.param(Role.USER, False, id="both"),
    ],
)
async def test_the_only_active_admin_cannot_demote_or_deactivate_themself(
    update_user: UpdateUser,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
    role: Role | Unset,
    is_active: bool | Unset,
) -> None:
    root = await an_admin(accounts)
    session = accounts.session(root)
    await accounts.user("eve@example.com")

    with pytest.raises(LastAdmin):
        await update_user.execute(
            UpdateUserCommand(
                accounts.signed_in(root),
                root.id,
                CALLER,
                name="Renamed",
                role=role,
                is_active=is_active,
            )
        )

    assert stored(store, root) == root
    assert not is_revoked(store, session)
    assert recorded_events(store) == []
    assert uow.commits == 0


@pytest.mark.parametrize(
    ("role", "is_active"),
    [
        pytest.param(Role.USER, UNSET, id="demoting"),
        pytest.param(UNSET, False, id="deactivating"),
    ],
)
async def test_one_of_two_active_admins_can_be_demoted_or_deactivated(
    update_user: UpdateUser,
    accounts: Accounts,
    store: InMemoryStore,
    role: Role | Unset,
    is_active: bool | Unset,
) -> None:
    root = await an_admin(accounts)
    other = await an_admin(accounts, "other-admin@example.com")

    await update_user.execute(
        UpdateUserCommand(
            accounts.signed_in(root), other.id, CALLER, role=role, is_active=is_active
        )
    )

    after = stored(store, other)
    assert not (after.role is Role.ADMIN and after.is_active)  # no longer an active admin
    assert stored(store, root) == root


async def test_an_admin_can_step_down_while_another_active_admin_remains(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    await an_admin(accounts, "other-admin@example.com")

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), root.id, CALLER, role=Role.USER)
    )

    assert stored(store, root).role is Role.USER


async def test_a_deactivated_admin_does_not_count_as_an_admin_left(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    retired = await accounts.user("retired@example.com", role=Role.ADMIN, is_active=False)

    with pytest.raises(LastAdmin):
        await update_user.execute(
            UpdateUserCommand(accounts.signed_in(root), root.id, CALLER, role=Role.USER)
        )

    assert stored(store, root) == root
    assert stored(store, retired) == retired


async def test_reactivating_an_admin_first_lets_the_other_step_down(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    retired = await accounts.user("retired@example.com", role=Role.ADMIN, is_active=False)

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), retired.id, CALLER, is_active=True)
    )
    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), root.id, CALLER, role=Role.USER)
    )

    assert stored(store, root).role is Role.USER
    assert stored(store, retired).is_active is True


async def test_changes_to_plain_accounts_are_not_held_to_the_admin_rule(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await an_admin(accounts)
    eve = await accounts.user("eve@example.com")

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, is_active=False)
    )
    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, is_active=True)
    )

    assert stored(store, eve).is_active is True
    assert [event.type for event in recorded_events(store)] == [
        AuditEventType.DEACTIVATED,
        AuditEventType.ACTIVATED,
    ]

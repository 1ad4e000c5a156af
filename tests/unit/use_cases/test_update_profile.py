from __future__ import annotations

from dataclasses import replace

import pytest

from application.errors import (
    CurrentPasswordRequired,
    EmailAlreadyRegistered,
    InvalidAccessToken,
    InvalidCurrentPassword,
)
from application.unset import UNSET
from application.use_cases.update_profile import UpdateProfile, UpdateProfileCommand
from domain.email import Email
from domain.errors import InvalidDisplayName, InvalidEmail
from domain.user import User
from tests.fakes import FakePasswordHasher, FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import PASSWORD, Accounts, ProfileChange, queued_mail, stored_user


def stored(store: InMemoryStore, user: User) -> User:
    found = stored_user(store, user.id)
    assert found is not None
    return found


async def test_a_person_can_rename_themselves(
    update_profile: UpdateProfile,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user(name="Eve")
    clock.advance(minutes=1)

    returned = await update_profile.execute(
        UpdateProfileCommand(accounts.signed_in(eve), name="Evelyn")
    )

    assert stored(store, eve).name == "Evelyn"
    assert stored(store, eve).updated_at == clock.now()
    assert returned == stored(store, eve)
    assert uow.commits == 1


async def test_a_name_set_to_none_is_cleared(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(name="Eve")

    await update_profile.execute(UpdateProfileCommand(accounts.signed_in(eve), name=None))

    assert stored(store, eve).name is None


async def test_fields_not_sent_are_left_alone(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com", name="Eve", is_verified=True)

    await update_profile.execute(
        UpdateProfileCommand(accounts.signed_in(eve), name=UNSET, email=UNSET)
    )

    assert stored(store, eve) == eve


async def test_changing_only_the_email_keeps_the_name(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com", name="Eve")

    await update_profile.execute(
        UpdateProfileCommand(
            accounts.signed_in(eve), email="eve@new.example.com", current_password=PASSWORD
        )
    )

    assert stored(store, eve).name == "Eve"


async def test_a_new_email_is_normalised_and_must_be_verified_again(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com", is_verified=True)

    returned = await update_profile.execute(
        UpdateProfileCommand(
            accounts.signed_in(eve), email="  Eve@New.Example.COM ", current_password=PASSWORD
        )
    )

    assert stored(store, eve).email == Email("eve@new.example.com")
    assert stored(store, eve).is_verified is False
    assert returned.email == Email("eve@new.example.com")


async def test_sending_the_same_email_in_another_case_keeps_it_verified(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com", is_verified=True)

    await update_profile.execute(
        UpdateProfileCommand(accounts.signed_in(eve), email="EVE@example.com")
    )

    assert stored(store, eve).email == Email("eve@example.com")
    assert stored(store, eve).is_verified is True


async def test_an_email_taken_by_another_account_is_refused_and_nothing_changes(
    update_profile: UpdateProfile,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user("eve@example.com", name="Eve", is_verified=True)
    bob = await accounts.user("bob@example.com", name="Bob")

    with pytest.raises(EmailAlreadyRegistered):
        await update_profile.execute(
            UpdateProfileCommand(
                accounts.signed_in(eve),
                name="Not Bob",
                email="BOB@example.com",
                current_password=PASSWORD,
            )
        )

    assert stored(store, eve) == eve
    assert stored(store, bob) == bob
    assert uow.commits == 0


async def test_an_invalid_name_is_refused_and_nothing_changes(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com", name="Eve", is_verified=True)

    with pytest.raises(InvalidDisplayName):
        await update_profile.execute(
            UpdateProfileCommand(accounts.signed_in(eve), name="", email="eve@new.example.com")
        )

    assert stored(store, eve) == eve


async def test_an_invalid_email_is_refused_and_nothing_changes(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com", name="Eve")

    with pytest.raises(InvalidEmail):
        await update_profile.execute(
            UpdateProfileCommand(
                accounts.signed_in(eve), name="Evelyn", email="Eve <eve@new.example.com>"
            )
        )

    assert stored(store, eve) == eve


async def test_a_profile_of_a_user_deleted_meanwhile_is_an_invalid_token(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    del store.users[eve.id]

    with pytest.raises(InvalidAccessToken):
        await update_profile.execute(UpdateProfileCommand(accounts.signed_in(eve), name="Ghost"))

    assert store.users == {}


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Evelyn"},
        {"email": "evelyn@example.com"},
        {"name": "Evelyn", "email": "evelyn@example.com"},
    ],
    ids=["name", "email", "both"],
)
async def test_a_deactivated_account_cannot_change_its_profile(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore, change: ProfileChange
) -> None:
    """Deactivated between authenticating and the edit: refused as a stale token, whatever is
    edited, with nothing changed and nothing audited."""
    eve = await accounts.user("eve@example.com", name="Eve", is_active=False)

    with pytest.raises(InvalidAccessToken):
        await update_profile.execute(UpdateProfileCommand(accounts.signed_in(eve), **change))

    assert stored(store, eve) == eve
    assert store.audit_events == {}


async def test_a_rename_alone_touches_only_the_name_and_records_no_audit_event(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user(name="Eve", is_verified=True)
    clock.advance(minutes=1)

    await update_profile.execute(UpdateProfileCommand(accounts.signed_in(eve), name="Evelyn"))

    after = stored(store, eve)
    assert after == replace(eve, name="Evelyn", updated_at=clock.now())
    assert store.audit_events == {}


async def test_an_edit_keeps_what_another_change_stored_since_authentication(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    """The edit starts from the user as authentication read them; a field it does not touch
    keeps what was stored meanwhile (the email verified in another tab, say)."""
    eve = await accounts.user(name="Eve", is_verified=False)
    signed_in = accounts.signed_in(eve)
    store.users[eve.id] = replace(store.users[eve.id], is_verified=True)
    clock.advance(minutes=1)

    await update_profile.execute(UpdateProfileCommand(signed_in, name="Evelyn"))

    assert stored(store, eve) == replace(
        eve, name="Evelyn", is_verified=True, updated_at=clock.now()
    )


# --- re-authentication for a new email --------------------------------------------------------


async def test_a_new_email_without_the_current_password_is_refused_before_any_work(
    update_profile: UpdateProfile,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user("eve@example.com", name="Eve")

    with pytest.raises(CurrentPasswordRequired):
        await update_profile.execute(
            UpdateProfileCommand(accounts.signed_in(eve), name="Evelyn", email="eve@new.example")
        )

    assert stored(store, eve) == eve
    assert (hasher.verifications, uow.opened) == (0, [])
    assert queued_mail(store) == []


async def test_a_new_email_with_a_wrong_current_password_is_refused_and_nothing_changes(
    update_profile: UpdateProfile,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user("eve@example.com", name="Eve", is_verified=True)

    with pytest.raises(InvalidCurrentPassword):
        await update_profile.execute(
            UpdateProfileCommand(
                accounts.signed_in(eve),
                name="Evelyn",
                email="eve@new.example",
                current_password="not the password",
            )
        )

    assert stored(store, eve) == eve
    assert uow.commits == 0
    assert store.audit_events == {}
    assert queued_mail(store) == []


async def test_a_new_email_with_the_current_password_is_made_with_the_name_in_one_commit(
    update_profile: UpdateProfile,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user("eve@example.com", name="Eve", is_verified=True)
    clock.advance(minutes=1)

    returned = await update_profile.execute(
        UpdateProfileCommand(
            accounts.signed_in(eve),
            name="Evelyn",
            email="evelyn@example.com",
            current_password=PASSWORD,
        )
    )

    assert stored(store, eve) == replace(
        eve,
        name="Evelyn",
        email=Email("evelyn@example.com"),
        is_verified=False,
        updated_at=clock.now(),
    )
    assert returned == stored(store, eve)
    assert uow.commits == 1


async def test_the_current_password_is_checked_before_the_transaction_opens(
    update_profile: UpdateProfile,
    accounts: Accounts,
    hasher: FakePasswordHasher,
    uow: FakeUnitOfWorkFactory,
) -> None:
    """bcrypt takes long: checking it inside the transaction would hold a database connection."""
    eve = await accounts.user("eve@example.com")
    opened_while_checking: list[int] = []

    async def note_open_transactions() -> None:
        opened_while_checking.append(len(uow.opened))

    hasher.during_verify = note_open_transactions

    await update_profile.execute(
        UpdateProfileCommand(
            accounts.signed_in(eve), email="eve@new.example", current_password=PASSWORD
        )
    )

    assert opened_while_checking == [0]
    assert len(uow.opened) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Evelyn"},
        {"email": " EVE@Example.com"},
        {"name": "Evelyn", "email": "eve@example.com"},
    ],
    ids=["name", "same email", "name and same email"],
)
async def test_an_edit_that_keeps_the_email_needs_no_password_and_checks_none(
    update_profile: UpdateProfile,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    uow: FakeUnitOfWorkFactory,
    change: ProfileChange,
) -> None:
    eve = await accounts.user("eve@example.com", name="Eve", is_verified=True)

    await update_profile.execute(UpdateProfileCommand(accounts.signed_in(eve), **change))

    assert stored(store, eve).email == Email("eve@example.com")
    assert stored(store, eve).is_verified is True
    assert hasher.verifications == 0
    assert uow.commits == 1


async def test_a_password_changed_while_it_was_being_checked_refuses_the_new_email(
    update_profile: UpdateProfile,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
) -> None:
    """The proof checked is of a password that no longer opens the account."""
    eve = await accounts.user("eve@example.com")
    concurrent_hash = await hasher.hash("set by a password reset")

    async def reset_the_password() -> None:
        store.users[eve.id].password_hash = concurrent_hash

    hasher.during_verify = reset_the_password

    with pytest.raises(InvalidCurrentPassword):
        await update_profile.execute(
            UpdateProfileCommand(
                accounts.signed_in(eve), email="eve@new.example", current_password=PASSWORD
            )
        )

    assert stored(store, eve) == replace(eve, password_hash=concurrent_hash)
    assert queued_mail(store) == []

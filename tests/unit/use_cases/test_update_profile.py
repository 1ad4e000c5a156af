from __future__ import annotations

from dataclasses import replace

import pytest

from application.errors import EmailAlreadyRegistered, InvalidAccessToken
from application.unset import UNSET
from application.use_cases.update_profile import UpdateProfile, UpdateProfileCommand
from domain.email import Email
from domain.errors import InvalidDisplayName, InvalidEmail
from domain.user import User
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import Accounts, ProfileChange, stored_user


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
        UpdateProfileCommand(accounts.signed_in(eve), email="eve@new.example.com")
    )

    assert stored(store, eve).name == "Eve"


async def test_a_new_email_is_normalised_and_must_be_verified_again(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com", is_verified=True)

    returned = await update_profile.execute(
        UpdateProfileCommand(accounts.signed_in(eve), email="  Eve@New.Example.COM ")
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
            UpdateProfileCommand(accounts.signed_in(eve), name="Not Bob", email="BOB@example.com")
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

"""Invitations: InviteUser mails a link, OpenInvitation reads it for the page, AcceptInvitation
spends it and opens the account."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from application.caller import Principal
from application.errors import EmailAlreadyRegistered, Forbidden, InvalidOrExpiredToken
from application.use_cases.accept_invitation import AcceptInvitation, AcceptInvitationCommand
from application.use_cases.admin.invite_user import InviteUser, InviteUserCommand
from application.use_cases.open_invitation import OpenInvitation, OpenInvitationQuery
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from domain.audit_event import AuditEventType
from domain.errors import InvalidDisplayName, InvalidEmail, WeakPassword
from domain.role import Role
from tests.fakes import FakePasswordHasher, FixedClock, InMemoryStore
from tests.unit.builders import (
    CALLER,
    NEW_PASSWORD,
    Accounts,
    queued_mail,
    queued_mail_to,
    recorded_events,
    secret_in,
    sha256_hex,
)

INVITED = "grace@example.com"


@pytest.fixture
async def admin(accounts: Accounts) -> Principal:
    return accounts.signed_in(await accounts.user("root@example.com", role=Role.ADMIN))


async def invite(
    invite_user: InviteUser,
    admin: Principal,
    store: InMemoryStore,
    email: str = INVITED,
    *,
    role: Role = Role.USER,
    name: str | None = None,
) -> str:
    """Invite, and read the token out of the newest email to that address."""
    await invite_user.execute(
        InviteUserCommand(principal=admin, email=email, role=role, name=name, caller=CALLER)
    )
    *_, newest = queued_mail_to(store, email.strip().lower())
    return secret_in(newest, "accept-invitation")


def accounts_with(store: InMemoryStore, email: str) -> list[str]:
    return [u.email.value for u in store.users.values() if u.email.value == email]


# --- inviting --------------------------------------------------------------------------------


async def test_an_admin_invites_and_one_email_carries_a_link_to_the_acceptance_page(
    invite_user: InviteUser, admin: Principal, store: InMemoryStore, clock: FixedClock
) -> None:
    invitation = await invite_user.execute(
        InviteUserCommand(
            principal=admin, email=" Grace@Example.com ", role=Role.ADMIN, name="Grace Hopper"
        )
    )

    assert invitation.email.value == INVITED
    assert invitation.role is Role.ADMIN
    assert invitation.expires_at == clock.now() + timedelta(days=7)
    [message] = queued_mail_to(store, INVITED)
    token = secret_in(message, "accept-invitation")
    assert "7 days" in message.text
    # Only the token's hash is kept; no account exists yet.
    [stored] = store.invitations.values()
    assert stored.token_hash == sha256_hex(token)
    assert token not in repr(stored)
    assert accounts_with(store, INVITED) == []


async def test_the_invitation_is_in_the_audit_trail_with_the_admin_as_actor(
    invite_user: InviteUser, admin: Principal, store: InMemoryStore
) -> None:
    token = await invite(invite_user, admin, store)

    [event] = [e for e in recorded_events(store) if e.type is AuditEventType.INVITATION_CREATED]
    assert event.actor_id == admin.user.id
    assert event.user_id is None
    assert event.ip == CALLER.ip
    assert event.data["email"] == INVITED
    assert event.data["role"] == "user"
    assert token not in str(event.data)


async def test_someone_who_is_not_an_admin_may_not_invite(
    invite_user: InviteUser, accounts: Accounts, store: InMemoryStore
) -> None:
    user = accounts.signed_in(await accounts.user("eve@example.com"))

    with pytest.raises(Forbidden):
        await invite_user.execute(InviteUserCommand(principal=user, email=INVITED))
    assert store.invitations == {}
    assert queued_mail(store) == []


async def test_a_deactivated_admin_may_not_invite(
    invite_user: InviteUser, accounts: Accounts
) -> None:
    former = accounts.signed_in(
        await accounts.user("old@example.com", role=Role.ADMIN, is_active=False)
    )

    with pytest.raises(Forbidden):
        await invite_user.execute(InviteUserCommand(principal=former, email=INVITED))


async def test_an_address_with_an_account_is_taken_in_any_case(
    invite_user: InviteUser, admin: Principal, accounts: Accounts, store: InMemoryStore
) -> None:
    await accounts.user(INVITED)

    with pytest.raises(EmailAlreadyRegistered):
        await invite_user.execute(InviteUserCommand(principal=admin, email="GRACE@example.com"))
    assert store.invitations == {}
    assert queued_mail(store) == []


@pytest.mark.parametrize(
    ("email", "name", "error"),
    [
        ("Grace <grace@example.com>", None, InvalidEmail),
        (INVITED, "   ", InvalidDisplayName),
    ],
    ids=["display-name-email", "blank-name"],
)
async def test_a_bad_address_or_name_invites_nobody(
    invite_user: InviteUser,
    admin: Principal,
    store: InMemoryStore,
    email: str,
    name: str | None,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        await invite_user.execute(InviteUserCommand(principal=admin, email=email, name=name))
    assert store.invitations == {}


async def test_inviting_an_address_again_replaces_its_pending_invitation(
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    admin: Principal,
    store: InMemoryStore,
) -> None:
    first = await invite(invite_user, admin, store)
    second = await invite(invite_user, admin, store, role=Role.ADMIN)

    assert len(store.invitations) == 1
    with pytest.raises(InvalidOrExpiredToken):
        await accept_invitation.execute(AcceptInvitationCommand(first, NEW_PASSWORD))
    user = await accept_invitation.execute(AcceptInvitationCommand(second, NEW_PASSWORD))
    assert user.role is Role.ADMIN


# --- opening the link --------------------------------------------------------------------------


async def test_opening_the_link_shows_whom_it_is_for_and_spends_nothing(
    invite_user: InviteUser,
    open_invitation: OpenInvitation,
    admin: Principal,
    store: InMemoryStore,
) -> None:
    token = await invite(invite_user, admin, store, name="Grace Hopper")

    for _ in range(3):  # a link scanner, a mail preview, the person
        view = await open_invitation.execute(OpenInvitationQuery(token))
        assert (view.email, view.name) == (INVITED, "Grace Hopper")
    [stored] = store.invitations.values()
    assert stored.accepted_at is None
    assert accounts_with(store, INVITED) == []


async def test_opening_an_unknown_or_expired_link_says_it_is_broken(
    invite_user: InviteUser,
    open_invitation: OpenInvitation,
    admin: Principal,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    token = await invite(invite_user, admin, store)

    with pytest.raises(InvalidOrExpiredToken):
        await open_invitation.execute(OpenInvitationQuery("not-a-token-we-sent"))
    clock.advance(days=7)
    with pytest.raises(InvalidOrExpiredToken):
        await open_invitation.execute(OpenInvitationQuery(token))


# --- accepting ---------------------------------------------------------------------------------


async def test_accepting_opens_a_verified_account_with_the_invited_role(
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    admin: Principal,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
) -> None:
    token = await invite(invite_user, admin, store, role=Role.ADMIN, name="Grace")

    user = await accept_invitation.execute(
        AcceptInvitationCommand(token, NEW_PASSWORD, name="Grace Hopper", caller=CALLER)
    )

    stored = store.users[user.id]
    assert stored.email.value == INVITED
    assert stored.role is Role.ADMIN
    assert stored.is_verified is True
    assert stored.is_active is True
    assert stored.name == "Grace Hopper"  # the person's choice wins over the suggestion
    assert await hasher.verify(NEW_PASSWORD, stored.password_hash)
    [invitation] = store.invitations.values()
    assert invitation.accepted_at is not None


async def test_acceptance_is_in_the_audit_trail_with_the_new_user_as_actor(
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    admin: Principal,
    store: InMemoryStore,
) -> None:
    token = await invite(invite_user, admin, store)

    user = await accept_invitation.execute(
        AcceptInvitationCommand(token, NEW_PASSWORD, caller=CALLER)
    )

    [event] = [e for e in recorded_events(store) if e.type is AuditEventType.INVITATION_ACCEPTED]
    assert (event.user_id, event.actor_id) == (user.id, user.id)
    assert event.data["invited_by"] == str(admin.user.id)
    assert event.ip == CALLER.ip
    assert NEW_PASSWORD not in str(event.data)
    assert token not in str(event.data)


async def test_a_link_works_once(
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    admin: Principal,
    store: InMemoryStore,
) -> None:
    token = await invite(invite_user, admin, store)
    await accept_invitation.execute(AcceptInvitationCommand(token, NEW_PASSWORD))

    with pytest.raises(InvalidOrExpiredToken):
        await accept_invitation.execute(AcceptInvitationCommand(token, "another passphrase"))
    assert len(accounts_with(store, INVITED)) == 1


async def test_an_expired_or_unknown_link_creates_nothing(
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    admin: Principal,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    token = await invite(invite_user, admin, store)

    with pytest.raises(InvalidOrExpiredToken):
        await accept_invitation.execute(AcceptInvitationCommand("x" * 43, NEW_PASSWORD))
    clock.advance(days=7)
    with pytest.raises(InvalidOrExpiredToken):
        await accept_invitation.execute(AcceptInvitationCommand(token, NEW_PASSWORD))
    assert accounts_with(store, INVITED) == []


@pytest.mark.parametrize(
    ("password", "name", "error"),
    [
        ("password1", None, WeakPassword),
        (INVITED, None, WeakPassword),
        ("short", None, WeakPassword),
        (NEW_PASSWORD, "\u202egrace", InvalidDisplayName),
    ],
    ids=["common", "the-email", "short", "bidi-name"],
)
async def test_a_refused_password_or_name_spends_nothing_and_the_link_still_works(
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    admin: Principal,
    store: InMemoryStore,
    password: str,
    name: str | None,
    error: type[Exception],
) -> None:
    token = await invite(invite_user, admin, store)

    with pytest.raises(error):
        await accept_invitation.execute(AcceptInvitationCommand(token, password, name=name))
    assert accounts_with(store, INVITED) == []

    await accept_invitation.execute(AcceptInvitationCommand(token, NEW_PASSWORD))
    assert accounts_with(store, INVITED) == [INVITED]


async def test_if_the_address_signed_up_meanwhile_accepting_changes_nothing(
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    register_user: RegisterUser,
    admin: Principal,
    store: InMemoryStore,
) -> None:
    token = await invite(invite_user, admin, store, role=Role.ADMIN)
    mine = await register_user.execute(RegisterUserCommand(INVITED, "my own passphrase"))
    events_before = len(recorded_events(store))

    with pytest.raises(EmailAlreadyRegistered):
        await accept_invitation.execute(AcceptInvitationCommand(token, NEW_PASSWORD))

    [account] = [u for u in store.users.values() if u.email.value == INVITED]
    assert account.id == mine.id
    assert account.role is Role.USER  # not promoted by someone else's invitation
    assert account.is_verified is False
    [invitation] = store.invitations.values()
    assert invitation.accepted_at is None  # nothing spent either
    assert len(recorded_events(store)) == events_before


async def test_a_signup_that_lands_while_the_password_is_hashed_wins_and_nothing_changes(
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    register_user: RegisterUser,
    admin: Principal,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
) -> None:
    token = await invite(invite_user, admin, store)

    async def someone_signs_up() -> None:
        hasher.during_hash = None
        await register_user.execute(RegisterUserCommand(INVITED, "my own passphrase"))

    hasher.during_hash = someone_signs_up
    with pytest.raises(EmailAlreadyRegistered):
        await accept_invitation.execute(AcceptInvitationCommand(token, NEW_PASSWORD))
    assert len(accounts_with(store, INVITED)) == 1
    [invitation] = store.invitations.values()
    assert invitation.accepted_at is None


async def test_of_two_concurrent_acceptances_of_one_link_exactly_one_makes_an_account(
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    admin: Principal,
    store: InMemoryStore,
) -> None:
    token = await invite(invite_user, admin, store)
    contenders = 5
    start = asyncio.Barrier(contenders)

    async def accept(n: int) -> object:
        await start.wait()
        return await accept_invitation.execute(
            AcceptInvitationCommand(token, f"{NEW_PASSWORD} {n}")
        )

    results = await asyncio.gather(*(accept(n) for n in range(contenders)), return_exceptions=True)

    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == contenders - 1
    assert all(isinstance(r, InvalidOrExpiredToken) for r in refused)
    assert len(accounts_with(store, INVITED)) == 1

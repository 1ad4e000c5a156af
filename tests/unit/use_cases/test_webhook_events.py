"""Which webhook events each change records, with what data, and that they commit with it: a
change refused, or rolled back, records none."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from application.errors import InvalidCurrentPassword, LastAdmin, NotFound, RefreshTokenReused
from application.ports.upstream import UpstreamIdentity
from application.unset import UNSET
from application.use_cases.accept_invitation import AcceptInvitation, AcceptInvitationCommand
from application.use_cases.admin.create_or_promote_admin import (
    CreateOrPromoteAdmin,
    CreateOrPromoteAdminCommand,
)
from application.use_cases.admin.delete_user import DeleteUser, DeleteUserCommand
from application.use_cases.admin.invite_user import InviteUser
from application.use_cases.admin.reset_mfa import ResetMfa, ResetMfaCommand
from application.use_cases.admin.update_user import UpdateUser, UpdateUserCommand
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from application.use_cases.delete_account import DeleteAccount, DeleteAccountCommand
from application.use_cases.oidc.revoke_token import RevokeToken
from application.use_cases.oidc.token_endpoint import RequestTokens
from application.use_cases.oidc.withdraw_grant import WithdrawGrant, WithdrawGrantCommand
from application.use_cases.refresh_tokens import RefreshTokens, RefreshTokensCommand
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from application.use_cases.request_email_verification import RequestEmailVerification
from application.use_cases.request_password_reset import RequestPasswordReset
from application.use_cases.reset_password import ResetPassword, ResetPasswordCommand
from application.use_cases.revoke_sessions import (
    RevokeOwnSession,
    RevokeOwnSessionCommand,
    RevokeSessions,
    RevokeSessionsCommand,
)
from application.use_cases.second_factor.confirm_totp import ConfirmTotpCommand
from application.use_cases.second_factor.disable_totp import DisableTotpCommand
from application.use_cases.second_factor.start_totp_setup import StartTotpSetupCommand
from application.use_cases.update_profile import UpdateProfile, UpdateProfileCommand
from application.use_cases.upstream.complete_sign_in import CompleteUpstreamSignIn, SignedInUpstream
from application.use_cases.upstream.start_sign_in import StartUpstreamSignIn
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from application.webhook_events import user_data
from domain.role import Role
from domain.webhook import WebhookEvent, WebhookEventType
from tests.fakes import FakeUpstreamProviders, FixedClock, InMemoryStore, SequentialIds
from tests.unit.builders import NEW_PASSWORD, PASSWORD, Accounts, stored_user
from tests.unit.second_factor import EMAIL, SecondFactor
from tests.unit.use_cases.test_email_verification import verification_secret
from tests.unit.use_cases.test_grants import DEVICE, granted, issued, registered
from tests.unit.use_cases.test_invitations import invite
from tests.unit.use_cases.test_oauth_revocation import revoking, tokens_for
from tests.unit.use_cases.test_oauth_token import (
    basic,
    exchange,
    issue_code,
    oauth_sessions,
    offline_tokens,
    public,
    refreshing,
    refused,
    register,
    signed_in,
)
from tests.unit.use_cases.test_password_reset import reset_link_secret
from tests.unit.use_cases.test_upstream_sign_in import Flow

CREATED = WebhookEventType.USER_CREATED
UPDATED = WebhookEventType.USER_UPDATED
DELETED = WebhookEventType.USER_DELETED
PASSWORD_CHANGED = WebhookEventType.USER_PASSWORD_CHANGED
REVOKED = WebhookEventType.SESSION_REVOKED


def events(store: InMemoryStore) -> list[WebhookEvent]:
    return list(store.webhook_events.values())


def sent(store: InMemoryStore) -> list[tuple[WebhookEventType, dict[str, Any]]]:
    return [(event.type, event.data) for event in events(store)]


def now_of(store: InMemoryStore, user_id: UUID) -> dict[str, Any]:
    found = stored_user(store, user_id)
    assert found is not None
    return user_data(found)


def session_revoked(user_id: UUID, session_id: UUID) -> tuple[WebhookEventType, dict[str, Any]]:
    return (REVOKED, {"user_id": str(user_id), "session_id": str(session_id)})


# --- the event itself -------------------------------------------------------------------------


async def test_a_user_event_carries_the_api_s_user_with_rfc_3339_times_and_its_own_id(
    register_user: RegisterUser, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await register_user.execute(RegisterUserCommand("eve@example.com", PASSWORD, name="Eve"))

    [event] = events(store)
    assert event.type is CREATED
    assert event.user_id == eve.id
    assert event.created_at == clock.now()
    assert event.id.startswith("msg_")
    stamp = clock.now().isoformat().replace("+00:00", "Z")
    assert event.data == {
        "id": str(eve.id),
        "email": "eve@example.com",
        "name": "Eve",
        "role": "user",
        "is_active": True,
        "is_verified": False,
        "mfa_enabled": False,
        "created_at": stamp,
        "updated_at": stamp,
    }


# --- accounts ---------------------------------------------------------------------------------


async def test_an_invitation_accepted_creates_the_user_verified(
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    root = accounts.signed_in(await accounts.user("root@example.com", role=Role.ADMIN))
    token = await invite(invite_user, root, store)
    assert sent(store) == []

    user = await accept_invitation.execute(AcceptInvitationCommand(token, NEW_PASSWORD))

    assert sent(store) == [(CREATED, now_of(store, user.id))]
    assert sent(store)[0][1]["is_verified"] is True


async def test_the_operator_creating_an_admin_sends_user_created_and_promoting_one_updated(
    create_or_promote_admin: CreateOrPromoteAdmin, accounts: Accounts, store: InMemoryStore
) -> None:
    await create_or_promote_admin.execute(CreateOrPromoteAdminCommand("root@example.com", PASSWORD))
    eve = await accounts.user("eve@example.com")
    await create_or_promote_admin.execute(CreateOrPromoteAdminCommand("eve@example.com"))
    await create_or_promote_admin.execute(CreateOrPromoteAdminCommand("eve@example.com"))

    [created, promoted] = events(store)
    assert created.type is CREATED
    assert promoted.type is UPDATED
    assert promoted.data == now_of(store, eve.id)
    assert promoted.data["role"] == Role.ADMIN.value


async def test_renaming_oneself_is_one_update_and_renaming_to_the_same_name_none(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(name="Eve")
    await update_profile.execute(UpdateProfileCommand(accounts.signed_in(eve), name="Eve"))
    assert sent(store) == []

    await update_profile.execute(UpdateProfileCommand(accounts.signed_in(eve), name="Eva"))

    assert sent(store) == [(UPDATED, now_of(store, eve.id))]


async def test_changing_name_and_email_at_once_is_one_update(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(name="Eve")

    await update_profile.execute(
        UpdateProfileCommand(
            accounts.signed_in(eve),
            name="Eva",
            email="eva@example.com",
            current_password=PASSWORD,
        )
    )

    assert sent(store) == [(UPDATED, now_of(store, eve.id))]
    assert sent(store)[0][1]["email"] == "eva@example.com"


async def test_an_email_change_refused_sends_nothing(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    with pytest.raises(InvalidCurrentPassword):
        await update_profile.execute(
            UpdateProfileCommand(
                accounts.signed_in(eve), email="eva@example.com", current_password="wrong one"
            )
        )
    assert sent(store) == []


async def test_an_admin_edit_is_one_update_and_a_deactivation_revokes_every_session(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user()
    laptop, phone = accounts.session(eve), accounts.session(eve)

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, DEVICE, name="Eva", is_active=False)
    )

    assert sent(store)[0] == (UPDATED, now_of(store, eve.id))
    assert sent(store)[0][1]["is_active"] is False
    assert sorted(sent(store)[1:], key=str) == sorted(
        [session_revoked(eve.id, laptop.id), session_revoked(eve.id, phone.id)], key=str
    )


async def test_an_admin_edit_that_changes_nothing_sends_nothing(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user(name="Eve")
    clock.advance(minutes=5)

    await update_user.execute(
        UpdateUserCommand(
            accounts.signed_in(root),
            eve.id,
            DEVICE,
            name="Eve",
            email=UNSET,
            role=Role.USER,
            is_active=True,
            is_verified=False,
        )
    )

    assert sent(store) == []


async def test_an_admin_edit_rolled_back_sends_nothing(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    with pytest.raises(LastAdmin):
        await update_user.execute(
            UpdateUserCommand(accounts.signed_in(root), root.id, DEVICE, role=Role.USER)
        )

    assert sent(store) == []


async def test_deleting_an_account_sends_user_deleted_alone(
    delete_account: DeleteAccount, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    accounts.session(eve)
    before = now_of(store, eve.id)

    await delete_account.execute(DeleteAccountCommand(accounts.signed_in(eve), PASSWORD))

    assert sent(store) == [(DELETED, before)]


async def test_an_admin_deleting_an_account_sends_user_deleted_and_the_last_admin_nothing(
    delete_user: DeleteUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user()
    before = now_of(store, eve.id)
    with pytest.raises(LastAdmin):
        await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), root.id))
    assert sent(store) == []

    await delete_user.execute(DeleteUserCommand(accounts.signed_in(root), eve.id))

    assert sent(store) == [(DELETED, before)]


# --- passwords --------------------------------------------------------------------------------


async def test_a_password_change_sends_password_changed_and_revokes_the_other_sessions(
    change_password: ChangePassword, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    current, other = accounts.session(eve), accounts.session(eve)
    accounts.revoked_session(eve)

    await change_password.execute(
        ChangePasswordCommand(accounts.signed_in(eve, current), PASSWORD, NEW_PASSWORD)
    )

    assert sent(store) == [
        (PASSWORD_CHANGED, now_of(store, eve.id)),
        session_revoked(eve.id, other.id),
    ]


async def test_a_password_change_refused_sends_nothing(
    change_password: ChangePassword, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    accounts.session(eve)
    with pytest.raises(InvalidCurrentPassword):
        await change_password.execute(
            ChangePasswordCommand(accounts.signed_in(eve), "wrong one", NEW_PASSWORD)
        )
    assert sent(store) == []


async def test_a_password_reset_sends_password_changed_and_revokes_every_session(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user()
    session = accounts.session(eve)
    secret = await reset_link_secret(request_password_reset, store, eve.email.value)

    await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    assert sent(store) == [
        (PASSWORD_CHANGED, now_of(store, eve.id)),
        session_revoked(eve.id, session.id),
    ]


# --- second factor ----------------------------------------------------------------------------


async def test_turning_totp_on_and_off_each_send_an_update_and_end_the_other_sessions(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)
    this_device, other = accounts.session(eve), accounts.session(eve)
    setup = await mfa.start.execute(StartTotpSetupCommand(accounts.signed_in(eve), PASSWORD))
    assert sent(store) == []

    await mfa.confirm.execute(
        ConfirmTotpCommand(accounts.signed_in(eve, this_device), mfa.code(setup.secret))
    )
    on = now_of(store, eve.id)
    assert on["mfa_enabled"] is True
    assert sent(store) == [(UPDATED, on), session_revoked(eve.id, other.id)]

    store.webhook_events.clear()
    eve.mfa_enabled = True
    mfa.clock.advance(minutes=1)
    await mfa.disable.execute(
        DisableTotpCommand(accounts.signed_in(eve, this_device), PASSWORD, mfa.code(setup.secret))
    )
    assert sent(store) == [(UPDATED, now_of(store, eve.id))]
    assert sent(store)[0][1]["mfa_enabled"] is False


async def test_an_admin_reset_of_totp_sends_an_update_and_revokes_every_session(
    mfa: SecondFactor, reset_mfa: ResetMfa, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user(EMAIL)
    await mfa.enrolled(eve)
    store.webhook_events.clear()
    session = accounts.session(eve)

    await reset_mfa.execute(ResetMfaCommand(accounts.signed_in(root), eve.id))

    assert sent(store) == [(UPDATED, now_of(store, eve.id)), session_revoked(eve.id, session.id)]


# --- sessions ---------------------------------------------------------------------------------


async def test_logout_revokes_the_current_session(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    current, _ = accounts.session(eve), accounts.session(eve)

    await revoke_sessions.execute(RevokeSessionsCommand(accounts.signed_in(eve, current)))

    assert sent(store) == [session_revoked(eve.id, current.id)]
    [event] = events(store)
    assert event.user_id == eve.id


async def test_logging_out_everywhere_revokes_each_live_session_once(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    bob = await accounts.user("bob@example.com")
    mine = [accounts.session(eve), accounts.session(eve)]
    accounts.session(bob)
    accounts.revoked_session(eve)

    await revoke_sessions.execute(
        RevokeSessionsCommand(accounts.signed_in(eve, mine[0]), everywhere=True)
    )

    assert sorted(sent(store), key=str) == sorted(
        [session_revoked(eve.id, s.id) for s in mine], key=str
    )


async def test_deleting_one_session_revokes_it_and_an_unknown_one_sends_nothing(
    revoke_own_session: RevokeOwnSession, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    current, other = accounts.session(eve), accounts.session(eve)
    principal = accounts.signed_in(eve, current)
    with pytest.raises(NotFound):
        await revoke_own_session.execute(RevokeOwnSessionCommand(principal, UUID(int=999)))
    assert sent(store) == []

    await revoke_own_session.execute(RevokeOwnSessionCommand(principal, other.id))

    assert sent(store) == [session_revoked(eve.id, other.id)]


async def test_a_refresh_token_presented_again_revokes_its_session(
    refresh_tokens: RefreshTokens, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    session, old_token = accounts.session_with_refresh_token(eve)
    await refresh_tokens.execute(RefreshTokensCommand(old_token))
    assert sent(store) == []

    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(old_token))

    assert sent(store) == [session_revoked(eve.id, session.id)]


async def test_withdrawing_a_grant_revokes_that_client_s_sessions(
    withdraw_grant: WithdrawGrant, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    wiki, chat = registered(store, "Wiki"), registered(store, "Chat")
    granted(store, eve, wiki)
    wiki_session = issued(store, eve, wiki, clock)
    issued(store, eve, chat, clock)

    await withdraw_grant.execute(
        WithdrawGrantCommand(accounts.signed_in(eve, accounts.session(eve)), wiki.client_id)
    )

    assert sent(store) == [session_revoked(eve.id, wiki_session.id)]


async def test_a_client_revoking_its_token_revokes_that_session_once(
    request_tokens: RequestTokens,
    revoke_token: RevokeToken,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, _, tokens = await tokens_for(request_tokens, store, clock, ids, accounts)
    assert tokens.refresh_token is not None
    [oauth_session] = [s for s in store.sessions.values() if s.client_id == app.client_id]

    await revoke_token.execute(revoking(tokens.refresh_token, basic(app)))
    await revoke_token.execute(revoking(tokens.refresh_token, basic(app)))

    assert sent(store) == [session_revoked(oauth_session.user_id, oauth_session.id)]


async def test_an_authorization_code_presented_again_revokes_what_it_opened(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app = register(store, clock)
    user, browser = await signed_in(accounts, store)
    code = issue_code(store, clock, ids, app, user, browser)
    await request_tokens.execute(exchange(code, public(app)))
    assert sent(store) == []

    await refused(request_tokens, exchange(code, public(app)))

    [opened] = oauth_sessions(store)
    assert sent(store) == [session_revoked(user.id, opened.id)]


async def test_an_oauth_refresh_token_used_twice_revokes_its_session(
    request_tokens: RequestTokens,
    store: InMemoryStore,
    clock: FixedClock,
    ids: SequentialIds,
    accounts: Accounts,
) -> None:
    app, first = await offline_tokens(request_tokens, store, clock, ids, accounts)
    assert first.refresh_token is not None
    await request_tokens.execute(refreshing(first.refresh_token, basic(app)))
    assert sent(store) == []

    await refused(request_tokens, refreshing(first.refresh_token, basic(app)))

    [session] = oauth_sessions(store)
    assert sent(store) == [session_revoked(session.user_id, session.id)]


async def test_verifying_the_address_is_one_update(
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user()
    secret = await verification_secret(request_email_verification, store, accounts.signed_in(eve))

    await verify_email.execute(VerifyEmailCommand(secret))

    assert sent(store) == [(UPDATED, now_of(store, eve.id))]
    assert sent(store)[0][1]["is_verified"] is True


async def test_an_account_opened_through_an_upstream_provider_is_created(
    start_upstream: StartUpstreamSignIn,
    complete_upstream: CompleteUpstreamSignIn,
    upstream_providers: FakeUpstreamProviders,
    store: InMemoryStore,
) -> None:
    identity = UpstreamIdentity(
        provider_id="corp",
        subject="ada-1",
        email="ada@example.com",
        email_verified=True,
        name="Ada",
    )
    flow = Flow(start_upstream, complete_upstream, upstream_providers)

    outcome = await flow.sign_in(identity)

    assert isinstance(outcome, SignedInUpstream)
    user_id = store.sessions[outcome.session_id].user_id
    assert sent(store) == [(CREATED, now_of(store, user_id))]
    await flow.sign_in(identity)  # the same person again: no new account
    assert len(sent(store)) == 1

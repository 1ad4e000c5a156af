"""The audit trail as the self-service use cases write it: one event per security change, in
the transaction of the change (no event without its change, no change without its event),
naming the account, who acted and from where, with small data that is never a secret.
(The admin use cases' events are in their own files.)"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest

from application.caller import Caller, Principal
from application.errors import (
    AccountDisabled,
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidCurrentPassword,
    InvalidMfaCode,
    InvalidOrExpiredToken,
    InvalidRefreshToken,
    NotFound,
    RefreshTokenReused,
    StorageUnavailable,
)
from application.ports.upstream import UpstreamIdentity
from application.use_cases.accept_invitation import AcceptInvitation, AcceptInvitationCommand
from application.use_cases.admin.create_or_promote_admin import (
    CreateOrPromoteAdmin,
    CreateOrPromoteAdminCommand,
)
from application.use_cases.admin.create_user import CreateUser, CreateUserCommand
from application.use_cases.admin.delete_user import DeleteUser, DeleteUserCommand
from application.use_cases.admin.invite_user import InviteUser, InviteUserCommand
from application.use_cases.admin.update_user import UpdateUser, UpdateUserCommand
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from application.use_cases.delete_account import DeleteAccount, DeleteAccountCommand
from application.use_cases.log_in import LogIn, LogInCommand
from application.use_cases.oauth_clients.delete_client import DeleteClient, DeleteClientCommand
from application.use_cases.oauth_clients.register_client import (
    RegisterClient,
    RegisterClientCommand,
)
from application.use_cases.oauth_clients.renew_client_secret import (
    RenewClientSecret,
    RenewClientSecretCommand,
)
from application.use_cases.oauth_clients.update_client import UpdateClient, UpdateClientCommand
from application.use_cases.oidc.authorize import (
    Authorize,
    AuthorizeCommand,
    ConsentDecision,
    RedirectToClient,
)
from application.use_cases.oidc.client_authentication import ClientAuthMethod, ClientCredentials
from application.use_cases.oidc.revoke_token import RevocationCommand, RevokeToken
from application.use_cases.oidc.token_endpoint import RequestTokens, TokenCommand
from application.use_cases.oidc.token_errors import TokenRequestRefused
from application.use_cases.oidc.withdraw_grant import WithdrawGrant, WithdrawGrantCommand
from application.use_cases.passkeys.delete_passkey import DeletePasskeyCommand
from application.use_cases.passkeys.rename_passkey import RenamePasskeyCommand
from application.use_cases.refresh_tokens import RefreshTokens, RefreshTokensCommand
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from application.use_cases.request_email_verification import (
    RequestEmailVerification,
    RequestEmailVerificationCommand,
)
from application.use_cases.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from application.use_cases.reset_password import ResetPassword, ResetPasswordCommand
from application.use_cases.revoke_sessions import (
    RevokeOwnSession,
    RevokeOwnSessionCommand,
    RevokeSessions,
    RevokeSessionsCommand,
)
from application.use_cases.second_factor.disable_totp import DisableTotpCommand
from application.use_cases.second_factor.renew_recovery_codes import RenewRecoveryCodesCommand
from application.use_cases.update_profile import UpdateProfile, UpdateProfileCommand
from application.use_cases.upstream.complete_sign_in import (
    CompleteUpstreamSignIn,
    CompleteUpstreamSignInCommand,
    SignedInUpstream,
)
from application.use_cases.upstream.identities import UnlinkIdentity, UnlinkIdentityCommand
from application.use_cases.upstream.refusals import UpstreamSignInRefused
from application.use_cases.upstream.start_sign_in import (
    StartUpstreamSignIn,
    StartUpstreamSignInCommand,
)
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from application.use_cases.webhooks.delete_webhook import DeleteWebhook, DeleteWebhookCommand
from application.use_cases.webhooks.register_webhook import (
    RegisterWebhook,
    RegisterWebhookCommand,
)
from application.use_cases.webhooks.update_webhook import UpdateWebhook, UpdateWebhookCommand
from domain.audit_event import AuditEvent, AuditEventType
from domain.errors import WeakPassword
from domain.grant import Grant
from domain.oauth_client import ClientType
from domain.oauth_scope import Scope
from domain.role import Role
from domain.session import SessionKind
from tests.fakes import (
    FakePasswordHasher,
    FakeUnitOfWorkFactory,
    FakeUpstreamProviders,
    FixedClock,
    InMemoryStore,
)
from tests.unit.builders import (
    CALLER,
    NEW_PASSWORD,
    PASSWORD,
    Accounts,
    ProfileChange,
    queued_mail_to,
    recorded_events,
    secret_in,
    stored_session,
    stored_sessions_of,
)
from tests.unit.passkeys import Passkeys
from tests.unit.second_factor import SecondFactor
from tests.webauthn_authenticator import SoftwareAuthenticator

# The person's own device, as the HTTP layer describes it to a use case.
DEVICE = Caller(ip="198.51.100.7", user_agent="Firefox/140")


def the_one_event(store: InMemoryStore) -> AuditEvent:
    [event] = recorded_events(store)
    return event


def assert_from_device(event: AuditEvent) -> None:
    assert (event.ip, event.user_agent) == (DEVICE.ip, DEVICE.user_agent)


async def reset_link_secret(
    request_password_reset: RequestPasswordReset, store: InMemoryStore, email: str
) -> str:
    await request_password_reset.execute(RequestPasswordResetCommand(email))
    *_, newest = queued_mail_to(store, email)
    return secret_in(newest, "reset-password")


async def verification_secret(
    request_email_verification: RequestEmailVerification,
    store: InMemoryStore,
    principal: Principal,
) -> str:
    await request_email_verification.execute(RequestEmailVerificationCommand(principal))
    *_, newest = queued_mail_to(store, principal.user.email.value)
    return secret_in(newest, "verify-email")


# --- signing up --------------------------------------------------------------------------------


async def test_signing_up_records_user_signed_up_by_the_new_account_itself(
    register_user: RegisterUser, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await register_user.execute(
        RegisterUserCommand("eve@example.com", PASSWORD, caller=DEVICE)
    )

    event = the_one_event(store)
    assert event.type is AuditEventType.SIGNED_UP
    assert (event.user_id, event.actor_id) == (eve.id, eve.id)
    assert_from_device(event)
    assert event.created_at == clock.now()
    assert event.data == {"role": "user"}


@pytest.mark.parametrize(
    ("password", "error"),
    [(PASSWORD, EmailAlreadyRegistered), ("password1", WeakPassword)],
    ids=["email taken", "weak password"],
)
async def test_a_refused_sign_up_records_nothing(
    register_user: RegisterUser,
    accounts: Accounts,
    store: InMemoryStore,
    password: str,
    error: type[Exception],
) -> None:
    await accounts.user("eve@example.com")

    with pytest.raises(error):
        await register_user.execute(RegisterUserCommand("eve@example.com", password))

    assert recorded_events(store) == []


# --- logging in --------------------------------------------------------------------------------


async def test_logging_in_records_login_succeeded_with_the_new_session(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user("eve@example.com")

    await log_in.execute(LogInCommand("eve@example.com", PASSWORD, caller=DEVICE))

    [session] = stored_sessions_of(store, eve.id)
    event = the_one_event(store)
    assert event.type is AuditEventType.LOGIN_SUCCEEDED
    assert (event.user_id, event.actor_id) == (eve.id, eve.id)
    assert_from_device(event)
    assert event.created_at == clock.now()
    assert event.data == {"session_id": str(session.id)}


@pytest.mark.parametrize(
    ("email", "password", "is_active", "error", "reason"),
    [
        ("nobody@example.com", PASSWORD, True, InvalidCredentials, "unknown_email"),
        ("eve@example.com", "not the password", True, InvalidCredentials, "wrong_password"),
        ("eve@example.com", PASSWORD, False, AccountDisabled, "account_disabled"),
        # A wrong password to a deactivated account says no more than any wrong password.
        ("eve@example.com", "not the password", False, InvalidCredentials, "wrong_password"),
    ],
)
async def test_a_failed_login_is_recorded_with_its_reason_though_the_login_fails(
    log_in: LogIn,
    accounts: Accounts,
    store: InMemoryStore,
    email: str,
    password: str,
    is_active: bool,
    error: type[Exception],
    reason: str,
) -> None:
    eve = await accounts.user("eve@example.com", is_active=is_active)

    with pytest.raises(error):
        await log_in.execute(LogInCommand(email, password, caller=DEVICE))

    event = the_one_event(store)
    assert event.type is AuditEventType.LOGIN_FAILED
    assert event.user_id == (None if reason == "unknown_email" else eve.id)
    assert event.actor_id is None
    assert_from_device(event)
    assert event.data == {"reason": reason}
    assert store.sessions == {}


async def test_a_login_with_something_that_is_no_email_is_recorded_as_an_unknown_email(
    log_in: LogIn, store: InMemoryStore
) -> None:
    with pytest.raises(InvalidCredentials):
        await log_in.execute(LogInCommand("Eve <eve@example.com>", PASSWORD))

    event = the_one_event(store)
    assert (event.type, event.user_id, event.data) == (
        AuditEventType.LOGIN_FAILED,
        None,
        {"reason": "unknown_email"},
    )


# --- refresh tokens ----------------------------------------------------------------------------


async def test_a_reused_refresh_token_is_recorded_in_the_transaction_that_revokes_the_session(
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user()
    session, stolen = accounts.session_with_refresh_token(eve)
    await refresh_tokens.execute(RefreshTokensCommand(stolen))
    commits_before = uow.commits
    clock.advance(minutes=5)

    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(stolen, caller=DEVICE))

    assert uow.commits == commits_before + 1
    assert stored_session(store, session.id).revoked_at == clock.now()
    event = the_one_event(store)
    assert event.type is AuditEventType.REFRESH_TOKEN_REUSED
    assert (event.user_id, event.actor_id) == (eve.id, None)
    assert_from_device(event)
    assert event.created_at == clock.now()
    assert event.data == {"session_id": str(session.id)}


async def test_an_ordinary_refresh_or_an_unknown_token_records_nothing(
    refresh_tokens: RefreshTokens, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    _, token = accounts.session_with_refresh_token(eve)

    await refresh_tokens.execute(RefreshTokensCommand(token, caller=DEVICE))
    with pytest.raises(InvalidRefreshToken):
        await refresh_tokens.execute(RefreshTokensCommand("never issued", caller=DEVICE))

    assert recorded_events(store) == []


# --- sessions ----------------------------------------------------------------------------------


async def test_logging_out_records_session_logged_out_with_the_session(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    current = accounts.session(eve)
    accounts.session(eve)

    await revoke_sessions.execute(
        RevokeSessionsCommand(accounts.signed_in(eve, current), caller=DEVICE)
    )

    event = the_one_event(store)
    assert event.type is AuditEventType.LOGGED_OUT
    assert (event.user_id, event.actor_id) == (eve.id, eve.id)
    assert_from_device(event)
    assert event.data == {"session_id": str(current.id)}


async def test_revoking_several_sessions_records_sessions_revoked_with_how_many(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    current = accounts.session(eve)
    for _ in range(2):
        accounts.session(eve)
    accounts.revoked_session(eve)

    await revoke_sessions.execute(
        RevokeSessionsCommand(accounts.signed_in(eve, current), everywhere=True, caller=DEVICE)
    )

    event = the_one_event(store)
    assert event.type is AuditEventType.SESSIONS_REVOKED
    assert (event.user_id, event.actor_id) == (eve.id, eve.id)
    assert_from_device(event)
    assert event.data == {"count": 3}


async def test_revoking_nothing_records_nothing(
    revoke_sessions: RevokeSessions,
    revoke_own_session: RevokeOwnSession,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user()
    # A logout racing another logout of the same session: it was already revoked.
    logged_out = accounts.signed_in(eve, accounts.revoked_session(eve))

    assert await revoke_sessions.execute(RevokeSessionsCommand(logged_out, caller=DEVICE)) == 0
    with pytest.raises(NotFound):
        await revoke_own_session.execute(
            RevokeOwnSessionCommand(logged_out, session_id=UUID(int=999), caller=DEVICE)
        )

    assert recorded_events(store) == []


# --- passwords ---------------------------------------------------------------------------------


async def test_changing_the_password_records_password_changed_and_how_many_sessions_ended(
    change_password: ChangePassword, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    current = accounts.session(eve)
    accounts.session(eve)
    accounts.session(eve)

    await change_password.execute(
        ChangePasswordCommand(accounts.signed_in(eve, current), PASSWORD, NEW_PASSWORD, DEVICE)
    )

    event = the_one_event(store)
    assert event.type is AuditEventType.PASSWORD_CHANGED
    assert (event.user_id, event.actor_id) == (eve.id, eve.id)
    assert_from_device(event)
    assert event.data == {"sessions_revoked": 2}


@pytest.mark.parametrize(
    ("current_password", "new_password", "error"),
    [
        ("not the password", NEW_PASSWORD, InvalidCurrentPassword),
        (PASSWORD, "password1", WeakPassword),
    ],
    ids=["wrong current password", "weak new password"],
)
async def test_a_refused_password_change_records_nothing(
    change_password: ChangePassword,
    accounts: Accounts,
    store: InMemoryStore,
    current_password: str,
    new_password: str,
    error: type[Exception],
) -> None:
    eve = await accounts.user()
    current = accounts.session(eve)

    with pytest.raises(error):
        await change_password.execute(
            ChangePasswordCommand(
                accounts.signed_in(eve, current), current_password, new_password, DEVICE
            )
        )

    assert recorded_events(store) == []


async def test_resetting_the_password_records_password_reset_by_the_link_holder(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    accounts.session(eve)
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")

    await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD, DEVICE))

    event = the_one_event(store)
    assert event.type is AuditEventType.PASSWORD_RESET
    assert (event.user_id, event.actor_id) == (eve.id, eve.id)
    assert_from_device(event)
    assert event.data == {"sessions_revoked": 1}


async def test_a_refused_password_reset_records_nothing(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    await accounts.user("eve@example.com")
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")

    with pytest.raises(WeakPassword):
        await reset_password.execute(ResetPasswordCommand(secret, "password1", DEVICE))
    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand("not a token", NEW_PASSWORD, DEVICE))

    assert recorded_events(store) == []


# --- email -------------------------------------------------------------------------------------


async def test_verifying_the_email_records_email_verified_with_the_address(
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await verification_secret(request_email_verification, store, accounts.signed_in(eve))

    await verify_email.execute(VerifyEmailCommand(secret, DEVICE))

    event = the_one_event(store)
    assert event.type is AuditEventType.EMAIL_VERIFIED
    assert (event.user_id, event.actor_id) == (eve.id, eve.id)
    assert_from_device(event)
    assert event.data == {"email": "eve@example.com"}


async def test_a_refused_verification_records_nothing(
    verify_email: VerifyEmail, accounts: Accounts, store: InMemoryStore
) -> None:
    await accounts.user("eve@example.com")

    with pytest.raises(InvalidOrExpiredToken):
        await verify_email.execute(VerifyEmailCommand("not a token", DEVICE))

    assert recorded_events(store) == []


async def test_changing_ones_email_records_email_changed(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")

    await update_profile.execute(
        UpdateProfileCommand(
            accounts.signed_in(eve),
            email="eve@new.example",
            current_password=PASSWORD,
            caller=DEVICE,
        )
    )

    event = the_one_event(store)
    assert event.type is AuditEventType.EMAIL_CHANGED
    assert (event.user_id, event.actor_id) == (eve.id, eve.id)
    assert_from_device(event)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"name": "Eve"}, id="a new name"),
        pytest.param({"email": " EVE@example.com"}, id="same email"),
        pytest.param({}, id="nothing"),
    ],
)
async def test_a_profile_update_that_keeps_the_email_records_nothing(
    update_profile: UpdateProfile,
    accounts: Accounts,
    store: InMemoryStore,
    change: ProfileChange,
) -> None:
    eve = await accounts.user("eve@example.com")

    await update_profile.execute(UpdateProfileCommand(accounts.signed_in(eve), **change))

    assert recorded_events(store) == []


async def test_an_email_change_refused_as_taken_records_nothing(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")
    await accounts.user("bob@example.com")

    with pytest.raises(EmailAlreadyRegistered):
        await update_profile.execute(
            UpdateProfileCommand(
                accounts.signed_in(eve), email="bob@example.com", current_password=PASSWORD
            )
        )

    assert recorded_events(store) == []


# --- deleting one's account --------------------------------------------------------------------


async def test_deleting_ones_account_records_user_deleted_with_the_address(
    delete_account: DeleteAccount, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")

    await delete_account.execute(DeleteAccountCommand(accounts.signed_in(eve), PASSWORD, DEVICE))

    event = the_one_event(store)
    assert event.type is AuditEventType.DELETED
    assert (event.user_id, event.actor_id) == (eve.id, eve.id)
    assert_from_device(event)
    assert event.data == {"email": "eve@example.com"}


async def test_a_wrong_password_on_deletion_records_nothing(
    delete_account: DeleteAccount, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")

    with pytest.raises(InvalidCurrentPassword):
        await delete_account.execute(
            DeleteAccountCommand(accounts.signed_in(eve), "not the password", DEVICE)
        )

    assert recorded_events(store) == []


# --- no change without its event ---------------------------------------------------------------

# Sets an account up, and returns the action that changes it (and records an event).
Prepare = Callable[[], Awaitable[Callable[[], Awaitable[object]]]]


@pytest.fixture
def recording_actions(
    accounts: Accounts,
    store: InMemoryStore,
    register_user: RegisterUser,
    log_in: LogIn,
    refresh_tokens: RefreshTokens,
    revoke_sessions: RevokeSessions,
    change_password: ChangePassword,
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    update_profile: UpdateProfile,
    delete_account: DeleteAccount,
    create_user: CreateUser,
    update_user: UpdateUser,
    delete_user: DeleteUser,
    create_or_promote_admin: CreateOrPromoteAdmin,
) -> dict[str, Prepare]:
    async def sign_up() -> Callable[[], Awaitable[object]]:
        return lambda: register_user.execute(RegisterUserCommand("new@example.com", PASSWORD))

    async def log_in_ok() -> Callable[[], Awaitable[object]]:
        await accounts.user("eve@example.com")
        return lambda: log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    async def log_in_wrong() -> Callable[[], Awaitable[object]]:
        await accounts.user("eve@example.com")
        return lambda: log_in.execute(LogInCommand("eve@example.com", "not the password"))

    async def reuse_refresh_token() -> Callable[[], Awaitable[object]]:
        eve = await accounts.user("eve@example.com")
        _, token = accounts.session_with_refresh_token(eve)
        await refresh_tokens.execute(RefreshTokensCommand(token))
        return lambda: refresh_tokens.execute(RefreshTokensCommand(token))

    async def log_out() -> Callable[[], Awaitable[object]]:
        eve = await accounts.user("eve@example.com")
        session = accounts.session(eve)
        return lambda: revoke_sessions.execute(
            RevokeSessionsCommand(accounts.signed_in(eve, session))
        )

    async def change_own_password() -> Callable[[], Awaitable[object]]:
        eve = await accounts.user("eve@example.com")
        current, _ = accounts.session(eve), accounts.session(eve)
        return lambda: change_password.execute(
            ChangePasswordCommand(accounts.signed_in(eve, current), PASSWORD, NEW_PASSWORD)
        )

    async def reset_own_password() -> Callable[[], Awaitable[object]]:
        eve = await accounts.user("eve@example.com")
        accounts.session(eve)
        secret = await reset_link_secret(request_password_reset, store, "eve@example.com")
        return lambda: reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    async def verify_own_email() -> Callable[[], Awaitable[object]]:
        eve = await accounts.user("eve@example.com")
        secret = await verification_secret(
            request_email_verification, store, accounts.signed_in(eve)
        )
        return lambda: verify_email.execute(VerifyEmailCommand(secret))

    async def change_own_email() -> Callable[[], Awaitable[object]]:
        signed_in = accounts.signed_in(await accounts.user("eve@example.com"))
        return lambda: update_profile.execute(
            UpdateProfileCommand(signed_in, email="e@new.example", current_password=PASSWORD)
        )

    async def delete_own_account() -> Callable[[], Awaitable[object]]:
        signed_in = accounts.signed_in(await accounts.user("eve@example.com"))
        return lambda: delete_account.execute(DeleteAccountCommand(signed_in, PASSWORD))

    async def admin_creates() -> Callable[[], Awaitable[object]]:
        root = await accounts.user("root@example.com", role=Role.ADMIN)
        return lambda: create_user.execute(
            CreateUserCommand(accounts.signed_in(root), "new@example.com", PASSWORD)
        )

    async def admin_deactivates() -> Callable[[], Awaitable[object]]:
        root = await accounts.user("root@example.com", role=Role.ADMIN)
        eve = await accounts.user("eve@example.com")
        accounts.session(eve)
        return lambda: update_user.execute(
            UpdateUserCommand(
                accounts.signed_in(root), eve.id, CALLER, role=Role.ADMIN, is_active=False
            )
        )

    async def admin_deletes() -> Callable[[], Awaitable[object]]:
        root = await accounts.user("root@example.com", role=Role.ADMIN)
        eve = await accounts.user("eve@example.com")
        return lambda: delete_user.execute(
            DeleteUserCommand(accounts.signed_in(root), eve.id, CALLER)
        )

    async def operator_promotes() -> Callable[[], Awaitable[object]]:
        await accounts.user("eve@example.com", is_active=False)
        return lambda: create_or_promote_admin.execute(
            CreateOrPromoteAdminCommand(email="eve@example.com")
        )

    async def operator_creates() -> Callable[[], Awaitable[object]]:
        return lambda: create_or_promote_admin.execute(
            CreateOrPromoteAdminCommand(email="root@example.com", password=PASSWORD)
        )

    return {
        "sign up": sign_up,
        "log in": log_in_ok,
        "fail to log in": log_in_wrong,
        "reuse a refresh token": reuse_refresh_token,
        "log out": log_out,
        "change one's password": change_own_password,
        "reset one's password": reset_own_password,
        "verify one's email": verify_own_email,
        "change one's email": change_own_email,
        "delete one's account": delete_own_account,
        "an admin creates an account": admin_creates,
        "an admin deactivates and promotes": admin_deactivates,
        "an admin deletes an account": admin_deletes,
        "the operator promotes": operator_promotes,
        "the operator creates an admin": operator_creates,
    }


RECORDING_ACTIONS = [
    "sign up",
    "log in",
    "fail to log in",
    "reuse a refresh token",
    "log out",
    "change one's password",
    "reset one's password",
    "verify one's email",
    "change one's email",
    "delete one's account",
    "an admin creates an account",
    "an admin deactivates and promotes",
    "an admin deletes an account",
    "the operator promotes",
    "the operator creates an admin",
]


@pytest.mark.parametrize("action", RECORDING_ACTIONS)
async def test_when_its_event_cannot_be_recorded_the_change_is_not_made_either(
    recording_actions: dict[str, Prepare],
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
    action: str,
) -> None:
    act = await recording_actions[action]()
    before = copy.deepcopy(store)
    uow.audit_unavailable = True

    with pytest.raises(StorageUnavailable):
        await act()

    assert store == before


# --- never a secret ----------------------------------------------------------------------------


def values_in(data: object) -> list[str]:
    """Every key and leaf value of a JSON-like structure, as text."""
    if isinstance(data, dict):
        return [text for key, value in data.items() for text in [str(key), *values_in(value)]]
    if isinstance(data, list):
        return [text for item in data for text in values_in(item)]
    return [str(data)]


async def test_no_event_holds_a_password_a_token_or_a_hash(
    register_user: RegisterUser,
    log_in: LogIn,
    refresh_tokens: RefreshTokens,
    change_password: ChangePassword,
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    update_profile: UpdateProfile,
    revoke_sessions: RevokeSessions,
    delete_account: DeleteAccount,
    create_user: CreateUser,
    update_user: UpdateUser,
    delete_user: DeleteUser,
    create_or_promote_admin: CreateOrPromoteAdmin,
    invite_user: InviteUser,
    accept_invitation: AcceptInvitation,
    register: RegisterClient,
    update: UpdateClient,
    renew: RenewClientSecret,
    delete: DeleteClient,
    authorize: Authorize,
    request_tokens: RequestTokens,
    revoke_token: RevokeToken,
    withdraw_grant: WithdrawGrant,
    start_upstream: StartUpstreamSignIn,
    complete_upstream: CompleteUpstreamSignIn,
    upstream_providers: FakeUpstreamProviders,
    unlink_identity: UnlinkIdentity,
    register_webhook: RegisterWebhook,
    update_webhook: UpdateWebhook,
    delete_webhook: DeleteWebhook,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    mfa: SecondFactor,
    passkeys: Passkeys,
) -> None:
    passwords = [PASSWORD, NEW_PASSWORD, "a third long passphrase", "not the password"]
    secrets: set[str] = set(passwords)
    secrets |= {await hasher.hash(password) for password in passwords}

    def remember_stored_hashes() -> None:
        secrets.update(u.password_hash for u in store.users.values() if u.password_hash)
        secrets.update(session.refresh_token_hash for session in store.sessions.values())
        secrets.update(store.rotated_refresh_tokens)
        secrets.update(token.token_hash for token in store.one_time_tokens.values())
        secrets.update(code.code_hash for code in store.recovery_codes.values())
        secrets.update(challenge.token_hash for challenge in store.mfa_challenges.values())
        secrets.update(invitation.token_hash for invitation in store.invitations.values())
        secrets.update(c.secret_hash for c in store.oauth_clients.values() if c.secret_hash)
        for sign_in in store.upstream_sign_ins.values():
            secrets.update((sign_in.state_hash, sign_in.nonce, sign_in.code_verifier))

    await create_or_promote_admin.execute(
        CreateOrPromoteAdminCommand(email="root@example.com", password=PASSWORD)
    )
    [root] = store.users.values()
    eve = await register_user.execute(RegisterUserCommand("eve@example.com", PASSWORD))
    with pytest.raises(InvalidCredentials):
        await log_in.execute(LogInCommand("eve@example.com", "not the password"))
    pair = await log_in.execute(LogInCommand("eve@example.com", PASSWORD))
    secrets |= {pair.access_token, pair.refresh_token}
    remember_stored_hashes()
    rotated = await refresh_tokens.execute(RefreshTokensCommand(pair.refresh_token))
    secrets |= {rotated.access_token, rotated.refresh_token}
    remember_stored_hashes()
    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(pair.refresh_token))
    pair = await log_in.execute(LogInCommand("eve@example.com", PASSWORD))
    secrets |= {pair.access_token, pair.refresh_token}
    [session] = [s for s in store.sessions.values() if s.revoked_at is None]
    eve_signed_in = Principal(user=eve, session_id=session.id)
    await change_password.execute(ChangePasswordCommand(eve_signed_in, PASSWORD, NEW_PASSWORD))
    reset_secret = await reset_link_secret(request_password_reset, store, "eve@example.com")
    secrets.add(reset_secret)
    remember_stored_hashes()
    await reset_password.execute(ResetPasswordCommand(reset_secret, "a third long passphrase"))
    verify_secret = await verification_secret(request_email_verification, store, eve_signed_in)
    secrets.add(verify_secret)
    remember_stored_hashes()
    await verify_email.execute(VerifyEmailCommand(verify_secret))
    after_reset = store.users[eve.id]
    await update_profile.execute(
        UpdateProfileCommand(
            Principal(user=after_reset, session_id=session.id),
            email="eve@new.example",
            current_password="a third long passphrase",
        )
    )
    pair = await log_in.execute(LogInCommand("eve@new.example", "a third long passphrase"))
    secrets |= {pair.access_token, pair.refresh_token}
    remember_stored_hashes()
    [session] = [s for s in store.sessions.values() if s.revoked_at is None]
    eve_signed_in = Principal(user=eve, session_id=session.id)
    await revoke_sessions.execute(RevokeSessionsCommand(eve_signed_in))
    for _ in range(2):
        pair = await log_in.execute(LogInCommand("eve@new.example", "a third long passphrase"))
        secrets |= {pair.access_token, pair.refresh_token}
    remember_stored_hashes()
    [session, _] = [s for s in store.sessions.values() if s.revoked_at is None]
    eve_signed_in = Principal(user=eve, session_id=session.id)
    await revoke_sessions.execute(RevokeSessionsCommand(eve_signed_in, everywhere=True))
    third = "a third long passphrase"
    eve_now = store.users[eve.id]
    secret, recovery_codes = await mfa.enrolled(eve_now, third)
    secrets |= {secret, *recovery_codes}
    token = await mfa.mfa_token("eve@new.example", third)
    secrets.add(token)
    with pytest.raises(InvalidMfaCode):
        await mfa.second_step(token, code=mfa.code(secret, steps_ahead=9))
    pair_token = await mfa.second_step(token, recovery_code=recovery_codes[0])
    secrets.add(pair_token)
    renewed = await mfa.renew.execute(
        RenewRecoveryCodesCommand(accounts.signed_in(eve_now), third, mfa.code(secret))
    )
    secrets |= set(renewed)
    mfa.clock.advance(seconds=30)
    await mfa.disable.execute(
        DisableTotpCommand(accounts.signed_in(eve_now), third, mfa.code(secret))
    )
    authenticator = SoftwareAuthenticator()
    passkey = await passkeys.add(accounts.signed_in(eve_now), authenticator, password=third)
    await passkeys.rename.execute(
        RenamePasskeyCommand(accounts.signed_in(eve_now), passkey.id, "Phone")
    )
    passkey_pair = await passkeys.sign_in(authenticator)
    secrets |= {passkey_pair.access_token, passkey_pair.refresh_token}
    authenticator.set_sign_count(authenticator.credentials[0].id, 0)
    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in(authenticator)
    await passkeys.delete.execute(DeletePasskeyCommand(accounts.signed_in(eve_now), passkey.id))
    remember_stored_hashes()
    root_signed_in = accounts.signed_in(root)
    bob = await create_user.execute(CreateUserCommand(root_signed_in, "bob@example.com", PASSWORD))
    remember_stored_hashes()
    await update_user.execute(
        UpdateUserCommand(root_signed_in, bob.id, CALLER, email="bob@new.example", role=Role.ADMIN)
    )
    await update_user.execute(UpdateUserCommand(root_signed_in, bob.id, CALLER, is_active=False))
    await update_user.execute(UpdateUserCommand(root_signed_in, bob.id, CALLER, is_active=True))
    await delete_user.execute(DeleteUserCommand(root_signed_in, bob.id, CALLER))
    await delete_account.execute(DeleteAccountCommand(eve_signed_in, "a third long passphrase"))
    await invite_user.execute(InviteUserCommand(root_signed_in, "ivy@example.com"))
    [invitation_mail] = queued_mail_to(store, "ivy@example.com")
    invitation_secret = secret_in(invitation_mail, "accept-invitation")
    secrets.add(invitation_secret)
    remember_stored_hashes()
    await accept_invitation.execute(AcceptInvitationCommand(invitation_secret, NEW_PASSWORD))
    remember_stored_hashes()
    registered = await register.execute(
        RegisterClientCommand(
            root_signed_in, "Wiki", ClientType.CONFIDENTIAL, ("https://wiki.example.com/cb",)
        )
    )
    client_id = registered.client.client_id
    assert registered.client_secret is not None
    secrets.add(registered.client_secret)
    await update.execute(UpdateClientCommand(root_signed_in, client_id, name="Wiki 2"))
    client_secret = await renew.execute(RenewClientSecretCommand(root_signed_in, client_id))
    secrets.add(client_secret)
    ivy = next(user for user in store.users.values() if user.email.value == "ivy@example.com")
    browser_session = accounts.session(ivy)
    browser_session.kind = SessionKind.BROWSER
    store.sessions[browser_session.id] = copy.deepcopy(browser_session)
    consented = await authorize.execute(
        AuthorizeCommand(
            (
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", "https://wiki.example.com/cb"),
                ("scope", "openid email"),
            ),
            Principal(user=ivy, session_id=browser_session.id),
            ConsentDecision.ALLOW,
            DEVICE,
        )
    )
    assert isinstance(consented, RedirectToClient)
    code = parse_qs(urlsplit(consented.location).query)["code"][0]
    secrets.add(code)
    secrets.update(code.code_hash for code in store.oauth_codes.values())
    wiki = ClientCredentials(ClientAuthMethod.CLIENT_SECRET_BASIC, client_id, client_secret)
    exchange = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "https://wiki.example.com/cb"),
    ]
    issued = await request_tokens.execute(TokenCommand(exchange, wiki, CALLER))
    secrets |= {issued.access_token, issued.id_token}
    remember_stored_hashes()
    await revoke_token.execute(RevocationCommand([("token", issued.access_token)], wiki, CALLER))
    with pytest.raises(TokenRequestRefused):
        await request_tokens.execute(TokenCommand(exchange, wiki, CALLER))
    store.oauth_grants[(root.id, client_id)] = Grant.give(
        root.id, client_id, {Scope.OPENID}, store.users[root.id].created_at
    )
    await withdraw_grant.execute(WithdrawGrantCommand(root_signed_in, client_id))
    await delete.execute(DeleteClientCommand(root_signed_in, client_id))
    callback = "http://localhost:8000/login/corp/callback"
    for linking in (None, root.id):
        redirect = await start_upstream.execute(
            StartUpstreamSignInCommand("corp", callback, linking_user_id=linking)
        )
        secrets.add(redirect.state)
        remember_stored_hashes()
        zed = UpstreamIdentity("corp", f"subject-{linking}", "zed@example.com", True, "Zed")
        code = upstream_providers.sign_in_at_provider(redirect.state, zed)
        back = CompleteUpstreamSignInCommand(
            "corp", callback, redirect.state, redirect.state, code, None, CALLER
        )
        outcome = await complete_upstream.execute(back)
        if isinstance(outcome, SignedInUpstream):
            secrets.add(outcome.session_token)
        with pytest.raises(UpstreamSignInRefused):
            await complete_upstream.execute(back)
    [root_identity] = [i for i in store.linked_identities.values() if i.user_id == root.id]
    await unlink_identity.execute(UnlinkIdentityCommand(root_signed_in, root_identity.id))
    webhook = await register_webhook.execute(
        RegisterWebhookCommand(root_signed_in, "https://hooks.example.com/in", ("*",))
    )
    secrets.add(webhook.secret)
    await update_webhook.execute(
        UpdateWebhookCommand(root_signed_in, webhook.id, events=("user.created",))
    )
    await delete_webhook.execute(DeleteWebhookCommand(root_signed_in, webhook.id))

    events = recorded_events(store)
    assert len({event.type for event in events}) == len(AuditEventType)  # every kind was made
    for event in events:
        texts = [*values_in(event.data), str(event.ip), str(event.user_agent)]
        for text in texts:
            leaked = [secret for secret in secrets if secret in text]
            assert not leaked, (event.type, text)
        for key in event.data:
            assert not any(word in key for word in ("password", "hash", "token", "secret"))

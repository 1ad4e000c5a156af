"""Fixtures for unit tests: fresh fakes per test and the use cases built by hand over them."""

from __future__ import annotations

import pytest

from adapters.security.qr_codes import SegnoQrCodes
from adapters.security.totp import PyotpTotpAuthenticator
from application.audit import AuditEvents
from application.ports.upstream import UpstreamProvider
from application.use_cases.accept_invitation import AcceptInvitation
from application.use_cases.admin.create_or_promote_admin import CreateOrPromoteAdmin
from application.use_cases.admin.create_user import CreateUser
from application.use_cases.admin.delete_user import DeleteUser
from application.use_cases.admin.get_user import GetUser
from application.use_cases.admin.invite_user import InviteUser
from application.use_cases.admin.list_audit_events import ListAuditEvents
from application.use_cases.admin.list_users import ListUsers
from application.use_cases.admin.reset_mfa import ResetMfa
from application.use_cases.admin.update_user import UpdateUser
from application.use_cases.authenticate import Authenticate
from application.use_cases.change_password import ChangePassword
from application.use_cases.delete_account import DeleteAccount
from application.use_cases.dispatch_outbox import DispatchOutbox
from application.use_cases.ensure_signing_key import EnsureSigningKey
from application.use_cases.list_sessions import ListSessions
from application.use_cases.log_in import LogIn
from application.use_cases.oauth_clients.delete_client import DeleteClient
from application.use_cases.oauth_clients.register_client import RegisterClient
from application.use_cases.oauth_clients.renew_client_secret import RenewClientSecret
from application.use_cases.oauth_clients.update_client import UpdateClient
from application.use_cases.oidc.authorize import Authorize
from application.use_cases.oidc.exchange_code import CodeExchange
from application.use_cases.oidc.introspect_token import IntrospectToken
from application.use_cases.oidc.list_grants import ListGrants
from application.use_cases.oidc.refresh_oauth_tokens import OAuthRefresh
from application.use_cases.oidc.revoke_token import RevokeToken
from application.use_cases.oidc.token_endpoint import RequestTokens
from application.use_cases.oidc.token_response import OAuthTokenIssuer
from application.use_cases.oidc.withdraw_grant import WithdrawGrant
from application.use_cases.open_invitation import OpenInvitation
from application.use_cases.prune_sessions import PruneSessions
from application.use_cases.refresh_tokens import RefreshTokens
from application.use_cases.register_user import RegisterUser
from application.use_cases.request_email_verification import RequestEmailVerification
from application.use_cases.request_password_reset import RequestPasswordReset
from application.use_cases.reset_password import ResetPassword
from application.use_cases.revoke_sessions import RevokeOwnSession, RevokeSessions
from application.use_cases.rotate_signing_key import RotateSigningKey
from application.use_cases.second_factor.complete_mfa_login import CompleteMfaLogin
from application.use_cases.second_factor.confirm_totp import ConfirmTotp
from application.use_cases.second_factor.disable_totp import DisableTotp
from application.use_cases.second_factor.mfa_status import GetMfaStatus
from application.use_cases.second_factor.renew_recovery_codes import RenewRecoveryCodes
from application.use_cases.second_factor.start_totp_setup import StartTotpSetup
from application.use_cases.update_profile import UpdateProfile
from application.use_cases.upstream.complete_sign_in import CompleteUpstreamSignIn
from application.use_cases.upstream.identities import UnlinkIdentity
from application.use_cases.upstream.start_sign_in import StartUpstreamSignIn
from application.use_cases.verify_email import VerifyEmail
from application.use_cases.webhooks.delete_webhook import DeleteWebhook
from application.use_cases.webhooks.get_webhook import GetWebhook
from application.use_cases.webhooks.list_deliveries import ListDeliveries
from application.use_cases.webhooks.list_webhooks import ListWebhooks
from application.use_cases.webhooks.register_webhook import RegisterWebhook
from application.use_cases.webhooks.send_test_event import SendTestEvent
from application.use_cases.webhooks.update_webhook import UpdateWebhook
from domain.password import PasswordPolicy
from domain.signing_key import SIGNING_ALGORITHMS
from tests.fakes import (
    FakeAccessTokens,
    FakeIdTokens,
    FakeOAuthAccessTokens,
    FakePasswordHasher,
    FakeSigningKeyFactory,
    FakeUnitOfWorkFactory,
    FakeUpstreamProviders,
    FakeWebhookTargets,
    FixedClock,
    InMemoryAuthenticatedUserReader,
    InMemoryIntrospectionReader,
    InMemoryStore,
    RecordingMailer,
    RecordingSecurityMetrics,
    SequentialIds,
)
from tests.unit.builders import (
    COMMON_PASSWORDS,
    LIFETIMES,
    PUBLIC_URL,
    THROTTLE,
    Accounts,
    AuditTrail,
)
from tests.unit.passkeys import Passkeys
from tests.unit.second_factor import SecondFactor

ISSUER = "http://localhost:8000"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def ids() -> SequentialIds:
    return SequentialIds()


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


@pytest.fixture
def store(uow: FakeUnitOfWorkFactory) -> InMemoryStore:
    """What has been committed so far."""
    return uow.store


@pytest.fixture
def hasher() -> FakePasswordHasher:
    return FakePasswordHasher(cost=12)


@pytest.fixture
def tokens(clock: FixedClock) -> FakeAccessTokens:
    return FakeAccessTokens(clock)


@pytest.fixture
def key_factory() -> FakeSigningKeyFactory:
    return FakeSigningKeyFactory()


@pytest.fixture
def policy() -> PasswordPolicy:
    return PasswordPolicy(common_passwords=COMMON_PASSWORDS)


@pytest.fixture
def accounts(
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    tokens: FakeAccessTokens,
    clock: FixedClock,
    ids: SequentialIds,
) -> Accounts:
    return Accounts(store, hasher, tokens, clock, ids)


@pytest.fixture
def trail(store: InMemoryStore, clock: FixedClock, ids: SequentialIds) -> AuditTrail:
    return AuditTrail(store, clock, ids)


@pytest.fixture
def audit(clock: FixedClock, ids: SequentialIds) -> AuditEvents:
    return AuditEvents(clock, ids)


@pytest.fixture
def security_metrics() -> RecordingSecurityMetrics:
    return RecordingSecurityMetrics()


@pytest.fixture
def register_user(
    uow: FakeUnitOfWorkFactory,
    hasher: FakePasswordHasher,
    policy: PasswordPolicy,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
) -> RegisterUser:
    return RegisterUser(uow, hasher, policy, clock, ids, audit)


@pytest.fixture
def log_in(
    uow: FakeUnitOfWorkFactory,
    hasher: FakePasswordHasher,
    tokens: FakeAccessTokens,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
    security_metrics: RecordingSecurityMetrics,
) -> LogIn:
    return LogIn(uow, hasher, tokens, clock, ids, LIFETIMES, audit, THROTTLE, security_metrics)


@pytest.fixture
def authenticate(
    uow: FakeUnitOfWorkFactory, tokens: FakeAccessTokens, clock: FixedClock
) -> Authenticate:
    return Authenticate(InMemoryAuthenticatedUserReader(uow.store), tokens, clock)


@pytest.fixture
def update_profile(
    uow: FakeUnitOfWorkFactory,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
) -> UpdateProfile:
    return UpdateProfile(uow, hasher, clock, ids, audit)


@pytest.fixture
def change_password(
    uow: FakeUnitOfWorkFactory,
    hasher: FakePasswordHasher,
    policy: PasswordPolicy,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
) -> ChangePassword:
    return ChangePassword(uow, hasher, policy, clock, ids, audit)


@pytest.fixture
def delete_account(
    uow: FakeUnitOfWorkFactory,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
) -> DeleteAccount:
    return DeleteAccount(uow, hasher, clock, ids, audit)


@pytest.fixture
def refresh_tokens(
    uow: FakeUnitOfWorkFactory,
    tokens: FakeAccessTokens,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
    security_metrics: RecordingSecurityMetrics,
) -> RefreshTokens:
    return RefreshTokens(uow, tokens, clock, ids, LIFETIMES, audit, security_metrics)


@pytest.fixture
def revoke_sessions(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds, audit: AuditEvents
) -> RevokeSessions:
    return RevokeSessions(uow, clock, ids, audit)


@pytest.fixture
def revoke_own_session(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds, audit: AuditEvents
) -> RevokeOwnSession:
    return RevokeOwnSession(uow, clock, ids, audit)


@pytest.fixture
def list_sessions(uow: FakeUnitOfWorkFactory, clock: FixedClock) -> ListSessions:
    return ListSessions(uow, clock)


@pytest.fixture
def prune_sessions(uow: FakeUnitOfWorkFactory, clock: FixedClock) -> PruneSessions:
    return PruneSessions(uow, clock)


@pytest.fixture
def ensure_signing_key(
    uow: FakeUnitOfWorkFactory, key_factory: FakeSigningKeyFactory, clock: FixedClock
) -> EnsureSigningKey:
    return EnsureSigningKey(uow, key_factory, clock, SIGNING_ALGORITHMS)


@pytest.fixture
def rotate_signing_key(
    uow: FakeUnitOfWorkFactory, key_factory: FakeSigningKeyFactory, clock: FixedClock
) -> RotateSigningKey:
    return RotateSigningKey(uow, key_factory, clock, SIGNING_ALGORITHMS)


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def request_password_reset(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds
) -> RequestPasswordReset:
    return RequestPasswordReset(uow, clock, ids, PUBLIC_URL)


@pytest.fixture
def reset_password(
    uow: FakeUnitOfWorkFactory,
    hasher: FakePasswordHasher,
    policy: PasswordPolicy,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
) -> ResetPassword:
    return ResetPassword(uow, hasher, policy, clock, ids, audit)


@pytest.fixture
def request_email_verification(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds
) -> RequestEmailVerification:
    return RequestEmailVerification(uow, clock, ids, PUBLIC_URL)


@pytest.fixture
def verify_email(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds, audit: AuditEvents
) -> VerifyEmail:
    return VerifyEmail(uow, clock, ids, audit)


@pytest.fixture
def dispatch_outbox(
    uow: FakeUnitOfWorkFactory, mailer: RecordingMailer, clock: FixedClock, ids: SequentialIds
) -> DispatchOutbox:
    return DispatchOutbox(uow, mailer, clock, ids)


@pytest.fixture
def list_users(uow: FakeUnitOfWorkFactory) -> ListUsers:
    return ListUsers(uow)


@pytest.fixture
def get_user(uow: FakeUnitOfWorkFactory) -> GetUser:
    return GetUser(uow)


@pytest.fixture
def create_user(register_user: RegisterUser) -> CreateUser:
    return CreateUser(register_user)


@pytest.fixture
def update_user(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds, audit: AuditEvents
) -> UpdateUser:
    return UpdateUser(uow, clock, ids, audit)


@pytest.fixture
def delete_user(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds, audit: AuditEvents
) -> DeleteUser:
    return DeleteUser(uow, clock, ids, audit)


@pytest.fixture
def list_audit_events(uow: FakeUnitOfWorkFactory) -> ListAuditEvents:
    return ListAuditEvents(uow)


@pytest.fixture
def create_or_promote_admin(
    uow: FakeUnitOfWorkFactory,
    register_user: RegisterUser,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
) -> CreateOrPromoteAdmin:
    return CreateOrPromoteAdmin(uow, register_user, clock, ids, audit)


@pytest.fixture
def mfa(
    uow: FakeUnitOfWorkFactory,
    hasher: FakePasswordHasher,
    tokens: FakeAccessTokens,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
    security_metrics: RecordingSecurityMetrics,
    accounts: Accounts,
) -> SecondFactor:
    authenticator = PyotpTotpAuthenticator("Portcullis")
    return SecondFactor(
        start=StartTotpSetup(uow, hasher, authenticator, SegnoQrCodes(), clock),
        confirm=ConfirmTotp(uow, authenticator, clock, ids, audit),
        disable=DisableTotp(uow, hasher, authenticator, clock, ids, audit),
        renew=RenewRecoveryCodes(uow, hasher, authenticator, clock, ids, audit),
        status=GetMfaStatus(uow),
        log_in=LogIn(uow, hasher, tokens, clock, ids, LIFETIMES, audit, THROTTLE, security_metrics),
        complete=CompleteMfaLogin(
            uow, authenticator, tokens, clock, ids, LIFETIMES, audit, THROTTLE, security_metrics
        ),
        clock=clock,
        accounts=accounts,
    )


@pytest.fixture
def reset_mfa(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds, audit: AuditEvents
) -> ResetMfa:
    return ResetMfa(uow, clock, ids, audit)


@pytest.fixture
def invite_user(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds, audit: AuditEvents
) -> InviteUser:
    return InviteUser(uow, clock, ids, audit, PUBLIC_URL)


@pytest.fixture
def open_invitation(uow: FakeUnitOfWorkFactory, clock: FixedClock) -> OpenInvitation:
    return OpenInvitation(uow, clock)


@pytest.fixture
def accept_invitation(
    uow: FakeUnitOfWorkFactory,
    hasher: FakePasswordHasher,
    policy: PasswordPolicy,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
) -> AcceptInvitation:
    return AcceptInvitation(uow, hasher, policy, clock, ids, audit)


@pytest.fixture
def passkeys(
    uow: FakeUnitOfWorkFactory,
    hasher: FakePasswordHasher,
    tokens: FakeAccessTokens,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
    security_metrics: RecordingSecurityMetrics,
) -> Passkeys:
    return Passkeys(uow, hasher, tokens, clock, ids, audit, security_metrics)


@pytest.fixture
def register(uow: FakeUnitOfWorkFactory, clock: FixedClock, audit: AuditEvents) -> RegisterClient:
    return RegisterClient(uow, clock, audit)


@pytest.fixture
def update(uow: FakeUnitOfWorkFactory, clock: FixedClock, audit: AuditEvents) -> UpdateClient:
    return UpdateClient(uow, clock, audit)


@pytest.fixture
def renew(uow: FakeUnitOfWorkFactory, clock: FixedClock, audit: AuditEvents) -> RenewClientSecret:
    return RenewClientSecret(uow, clock, audit)


@pytest.fixture
def delete(uow: FakeUnitOfWorkFactory, audit: AuditEvents) -> DeleteClient:
    return DeleteClient(uow, audit)


@pytest.fixture
def webhook_targets() -> FakeWebhookTargets:
    return FakeWebhookTargets()


@pytest.fixture
def register_webhook(
    uow: FakeUnitOfWorkFactory,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
    webhook_targets: FakeWebhookTargets,
) -> RegisterWebhook:
    return RegisterWebhook(uow, clock, ids, audit, webhook_targets)


@pytest.fixture
def list_webhooks(uow: FakeUnitOfWorkFactory) -> ListWebhooks:
    return ListWebhooks(uow)


@pytest.fixture
def get_webhook(uow: FakeUnitOfWorkFactory) -> GetWebhook:
    return GetWebhook(uow)


@pytest.fixture
def update_webhook(
    uow: FakeUnitOfWorkFactory,
    clock: FixedClock,
    audit: AuditEvents,
    webhook_targets: FakeWebhookTargets,
) -> UpdateWebhook:
    return UpdateWebhook(uow, clock, audit, webhook_targets)


@pytest.fixture
def delete_webhook(uow: FakeUnitOfWorkFactory, audit: AuditEvents) -> DeleteWebhook:
    return DeleteWebhook(uow, audit)


@pytest.fixture
def list_deliveries(uow: FakeUnitOfWorkFactory) -> ListDeliveries:
    return ListDeliveries(uow)


@pytest.fixture
def send_test_event(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds
) -> SendTestEvent:
    return SendTestEvent(uow, clock, ids)


@pytest.fixture
def authorize(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds, audit: AuditEvents
) -> Authorize:
    return Authorize(uow, clock, ids, audit, ISSUER)


@pytest.fixture
def list_grants(uow: FakeUnitOfWorkFactory) -> ListGrants:
    return ListGrants(uow)


@pytest.fixture
def id_tokens() -> FakeIdTokens:
    return FakeIdTokens()


@pytest.fixture
def access_tokens(clock: FixedClock) -> FakeOAuthAccessTokens:
    return FakeOAuthAccessTokens(clock)


@pytest.fixture
def request_tokens(
    uow: FakeUnitOfWorkFactory,
    clock: FixedClock,
    ids: SequentialIds,
    id_tokens: FakeIdTokens,
    access_tokens: FakeOAuthAccessTokens,
    audit: AuditEvents,
    security_metrics: RecordingSecurityMetrics,
) -> RequestTokens:
    issuer = OAuthTokenIssuer(access_tokens, id_tokens, ids, LIFETIMES)
    return RequestTokens(
        CodeExchange(uow, clock, ids, LIFETIMES, issuer, audit, security_metrics),
        OAuthRefresh(uow, clock, issuer, ids, audit, security_metrics),
    )


@pytest.fixture
def revoke_token(
    uow: FakeUnitOfWorkFactory,
    clock: FixedClock,
    access_tokens: FakeOAuthAccessTokens,
    ids: SequentialIds,
    audit: AuditEvents,
) -> RevokeToken:
    return RevokeToken(uow, clock, access_tokens, ids, audit)


@pytest.fixture
def introspect_token(
    uow: FakeUnitOfWorkFactory,
    store: InMemoryStore,
    clock: FixedClock,
    access_tokens: FakeOAuthAccessTokens,
) -> IntrospectToken:
    return IntrospectToken(uow, InMemoryIntrospectionReader(store), clock, access_tokens)


@pytest.fixture
def upstream_providers() -> FakeUpstreamProviders:
    return FakeUpstreamProviders(
        UpstreamProvider("corp", "Corp SSO"), UpstreamProvider("google", "Google")
    )


@pytest.fixture
def start_upstream(
    uow: FakeUnitOfWorkFactory,
    upstream_providers: FakeUpstreamProviders,
    clock: FixedClock,
    ids: SequentialIds,
) -> StartUpstreamSignIn:
    return StartUpstreamSignIn(uow, upstream_providers, clock, ids)


@pytest.fixture
def complete_upstream(
    uow: FakeUnitOfWorkFactory,
    upstream_providers: FakeUpstreamProviders,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
    security_metrics: RecordingSecurityMetrics,
) -> CompleteUpstreamSignIn:
    return CompleteUpstreamSignIn(
        uow, upstream_providers, clock, ids, LIFETIMES, audit, security_metrics
    )


@pytest.fixture
def unlink_identity(uow: FakeUnitOfWorkFactory, audit: AuditEvents) -> UnlinkIdentity:
    return UnlinkIdentity(uow, audit)


@pytest.fixture
def withdraw_grant(
    uow: FakeUnitOfWorkFactory, clock: FixedClock, ids: SequentialIds, audit: AuditEvents
) -> WithdrawGrant:
    return WithdrawGrant(uow, clock, ids, audit)

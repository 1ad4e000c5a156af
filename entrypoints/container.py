"""The composition root: which adapter serves each port, and every use case built from them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from dependency_injector import containers, providers
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from adapters.mail.console import ConsoleMailer
from adapters.mail.file import FileMailer
from adapters.mail.smtp import SmtpMailer
from adapters.metrics.prometheus import PrometheusSecurityMetrics
from adapters.persistence.database import Database
from adapters.persistence.sealed_secrets import SealedSecrets
from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork
from adapters.rate_limit.memory import MemoryRateLimiter
from adapters.rate_limit.redis import RedisRateLimiter
from adapters.security.bcrypt_hasher import BcryptPasswordHasher
from adapters.security.common_passwords import common_passwords
from adapters.security.jwt_access_tokens import JwtAccessTokens
from adapters.security.jwt_codec import JwtCodec
from adapters.security.jwt_id_tokens import JwtIdTokens
from adapters.security.jwt_oauth_access_tokens import JwtOAuthAccessTokens
from adapters.security.key_ring import KeyRing
from adapters.security.qr_codes import SegnoQrCodes
from adapters.security.secret_sealer import make_secret_sealer
from adapters.security.signing_key_factory import CryptographySigningKeyFactory
from adapters.security.totp import PyotpTotpAuthenticator
from adapters.security.verified_tokens import VerifiedTokens
from adapters.security.webauthn_ceremonies import PyWebAuthnCeremonies
from adapters.system.clock import SystemClock
from adapters.system.ids import RandomIdGenerator
from adapters.upstream.oidc_providers import OidcProviderConfig, OidcProviders
from adapters.webhooks.targets import ResolvingWebhookTargets
from application.audit import AuditEvents
from application.oidc_tokens import OAuthAccessTokenClaims
from application.ports.security import AccessTokenClaims
from application.tokens import TokenLifetimes
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
from application.use_cases.authenticate_browser import AuthenticateBrowser
from application.use_cases.change_password import ChangePassword
from application.use_cases.check_readiness import CheckReadiness
from application.use_cases.delete_account import DeleteAccount
from application.use_cases.dispatch_outbox import DispatchOutbox
from application.use_cases.ensure_signing_key import EnsureSigningKey
from application.use_cases.list_sessions import ListSessions
from application.use_cases.list_signing_keys import ListSigningKeys
from application.use_cases.log_in import LogIn
from application.use_cases.oauth_clients.delete_client import DeleteClient
from application.use_cases.oauth_clients.get_client import GetClient
from application.use_cases.oauth_clients.list_clients import ListClients
from application.use_cases.oauth_clients.register_client import RegisterClient
from application.use_cases.oauth_clients.renew_client_secret import RenewClientSecret
from application.use_cases.oauth_clients.update_client import UpdateClient
from application.use_cases.oidc.authorize import Authorize
from application.use_cases.oidc.exchange_code import CodeExchange
from application.use_cases.oidc.introspect_token import IntrospectToken
from application.use_cases.oidc.list_grants import ListGrants
from application.use_cases.oidc.read_logout_request import ReadLogoutRequest
from application.use_cases.oidc.refresh_oauth_tokens import OAuthRefresh
from application.use_cases.oidc.revoke_token import RevokeToken
from application.use_cases.oidc.token_endpoint import RequestTokens
from application.use_cases.oidc.token_response import OAuthTokenIssuer
from application.use_cases.oidc.userinfo import ReadUserInfo
from application.use_cases.oidc.withdraw_grant import WithdrawGrant
from application.use_cases.open_invitation import OpenInvitation
from application.use_cases.passkeys.begin_passkey_registration import (
    BeginPasskeyRegistration,
)
from application.use_cases.passkeys.begin_passkey_sign_in import BeginPasskeySignIn
from application.use_cases.passkeys.delete_passkey import DeletePasskey
from application.use_cases.passkeys.list_passkeys import ListPasskeys
from application.use_cases.passkeys.register_passkey import RegisterPasskey
from application.use_cases.passkeys.rename_passkey import RenamePasskey
from application.use_cases.passkeys.sign_in_with_passkey import SignInWithPasskey
from application.use_cases.prune_sessions import PruneSessions
from application.use_cases.publish_public_keys import PublishPublicKeys
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
from application.use_cases.upstream.identities import (
    ListIdentities,
    ListUpstreamProviders,
    UnlinkIdentity,
)
from application.use_cases.upstream.start_sign_in import StartUpstreamSignIn
from application.use_cases.verify_email import VerifyEmail
from application.use_cases.webhooks.delete_webhook import DeleteWebhook
from application.use_cases.webhooks.get_webhook import GetWebhook
from application.use_cases.webhooks.list_deliveries import ListDeliveries
from application.use_cases.webhooks.list_webhooks import ListWebhooks
from application.use_cases.webhooks.register_webhook import RegisterWebhook
from application.use_cases.webhooks.send_test_event import SendTestEvent
from application.use_cases.webhooks.update_webhook import UpdateWebhook
from domain.login_throttle import LoginThrottlePolicy
from domain.password import PasswordPolicy
from domain.signing_key import SIGNING_ALGORITHMS
from entrypoints.settings import Settings, UpstreamProviderSettings

# Far above any query the service runs; only there so a frozen network cannot hang a request.
STATEMENT_TIMEOUT_SECONDS = 15.0


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


def _forgetting_keys_in(
    *caches: VerifiedTokens[AccessTokenClaims] | VerifiedTokens[OAuthAccessTokenClaims],
) -> Callable[[frozenset[str]], None]:
    """What the key ring calls when keys leave it: every kind of verified token forgets the
    tokens those keys signed."""

    def forget(kids: frozenset[str]) -> None:
        for cache in caches:
            cache.forget_keys(kids)

    return forget


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _upstream_providers(providers: Sequence[UpstreamProviderSettings]) -> OidcProviders:
    return OidcProviders(
        [
            OidcProviderConfig(
                id=provider.id,
                name=provider.name,
                issuer=provider.issuer,
                client_id=provider.client_id,
                client_secret=provider.client_secret.get_secret_value(),
                scopes=provider.scopes,
            )
            for provider in providers
        ]
    )


def _rate_limit_choice(per_minute: int, backend: str) -> str:
    return backend if per_minute > 0 else "off"


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    secret_sealer = providers.Singleton(make_secret_sealer, settings.provided.encryption_key_bytes)
    database = providers.Singleton(
        Database,
        settings.provided.database_url,
        pool_size=settings.provided.database_pool_size,
        statement_timeout=STATEMENT_TIMEOUT_SECONDS,
        sealer=secret_sealer,
    )
    # Every sealed column at once: the start-up check and `portcullis secrets reencrypt`.
    sealed_secrets = providers.Singleton(SealedSecrets, database=database)
    # A fresh unit of work (one transaction) each time a use case calls this provider.
    unit_of_work = providers.Factory(SqlAlchemyUnitOfWork, database=database)
    # Outside the unit of work: the one read every authenticated request makes.
    authenticated_users = database.provided.authenticated_users

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIdGenerator)
    audit = providers.Singleton(AuditEvents, clock=clock, ids=ids)
    password_hasher = providers.Singleton(
        BcryptPasswordHasher, rounds=settings.provided.bcrypt_rounds
    )
    password_policy = providers.Singleton(
        PasswordPolicy, common_passwords=providers.Callable(common_passwords)
    )
    token_lifetimes = providers.Singleton(
        TokenLifetimes,
        access=providers.Callable(_seconds, settings.provided.access_token_ttl_seconds),
        refresh=providers.Callable(_seconds, settings.provided.refresh_token_ttl_seconds),
    )
    login_throttle = providers.Singleton(
        LoginThrottlePolicy,
        max_failures=settings.provided.login_max_failures,
        window=providers.Callable(_seconds, settings.provided.login_failure_window_seconds),
    )
    signing_key_factory = providers.Singleton(CryptographySigningKeyFactory)
    verified_tokens = providers.Singleton(VerifiedTokens[AccessTokenClaims], clock=clock)
    verified_oauth_tokens = providers.Singleton(VerifiedTokens[OAuthAccessTokenClaims], clock=clock)
    key_ring = providers.Singleton(
        KeyRing,
        uow=unit_of_work.provider,
        clock=clock,
        algorithm=settings.provided.jwt_algorithm,
        access_token_ttl=token_lifetimes.provided.access,
        on_keys_removed=providers.Callable(
            _forgetting_keys_in, verified_tokens, verified_oauth_tokens
        ),
    )
    jwt_codec = providers.Singleton(
        JwtCodec,
        clock=clock,
        issuer=settings.provided.issuer,
        audience=settings.provided.audience,
    )
    access_tokens = providers.Singleton(
        JwtAccessTokens, keys=key_ring, codec=jwt_codec, verified=verified_tokens
    )
    # The OpenID provider's tokens: their issuer is the issuer identifier, the public URL.
    id_tokens = providers.Singleton(JwtIdTokens, keys=key_ring, issuer=settings.provided.public_url)
    oauth_access_tokens = providers.Singleton(
        JwtOAuthAccessTokens,
        keys=key_ring,
        clock=clock,
        verified=verified_oauth_tokens,
        issuer=settings.provided.public_url,
    )
    totp_authenticator = providers.Singleton(
        PyotpTotpAuthenticator, issuer=settings.provided.mfa_issuer
    )
    qr_codes = providers.Singleton(SegnoQrCodes)
    # None configured: it lists none and never reaches out.
    upstream_providers = providers.Singleton(_upstream_providers, settings.provided.oidc_providers)
    webauthn = providers.Singleton(
        PyWebAuthnCeremonies,
        rp_id=settings.provided.resolved_webauthn_rp_id,
        rp_name=settings.provided.webauthn_rp_name,
        origin=settings.provided.public_origin,
    )

    mailer = providers.Selector(
        settings.provided.mail_backend,
        console=providers.Singleton(ConsoleMailer, sender=settings.provided.smtp_from),
        file=providers.Singleton(
            FileMailer, directory=settings.provided.mail_dir, sender=settings.provided.smtp_from
        ),
        smtp=providers.Singleton(
            SmtpMailer,
            host=settings.provided.smtp_host,
            port=settings.provided.smtp_port,
            username=settings.provided.smtp_username,
            password=providers.Callable(_secret, settings.provided.smtp_password),
            starttls=settings.provided.smtp_starttls,
            sender=settings.provided.smtp_from,
        ),
    )

    # One registry per container, so per app: /metrics shows this app's counts alone (tests
    # build many apps in one process).
    metrics_registry = providers.Singleton(CollectorRegistry)
    security_metrics = providers.Singleton(PrometheusSecurityMetrics, registry=metrics_registry)

    # The per-client-IP throttle of the auth endpoints; None when the limit is 0 (off).
    rate_limiter = providers.Selector(
        providers.Callable(
            _rate_limit_choice,
            settings.provided.rate_limit_per_minute,
            settings.provided.rate_limit_backend,
        ),
        off=providers.Object(None),
        memory=providers.Singleton(
            MemoryRateLimiter, per_minute=settings.provided.rate_limit_per_minute
        ),
        redis=providers.Singleton(
            RedisRateLimiter,
            redis_url=settings.provided.redis_url,
            per_minute=settings.provided.rate_limit_per_minute,
            # While Redis is unreachable, each process limits on its own (see the adapter).
            fallback=providers.Singleton(
                MemoryRateLimiter, per_minute=settings.provided.rate_limit_per_minute
            ),
        ),
    )

    # Use cases hold no state between calls, so one instance of each serves every request.
    register_user = providers.Singleton(
        RegisterUser,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        policy=password_policy,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    log_in = providers.Singleton(
        LogIn,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        tokens=access_tokens,
        clock=clock,
        ids=ids,
        lifetimes=token_lifetimes,
        audit=audit,
        throttle=login_throttle,
        metrics=security_metrics,
        mfa_token_lifetime=providers.Callable(_seconds, settings.provided.mfa_token_ttl_seconds),
    )
    complete_mfa_login = providers.Singleton(
        CompleteMfaLogin,
        uow=unit_of_work.provider,
        authenticator=totp_authenticator,
        tokens=access_tokens,
        clock=clock,
        ids=ids,
        lifetimes=token_lifetimes,
        audit=audit,
        throttle=login_throttle,
        metrics=security_metrics,
    )
    begin_passkey_registration = providers.Singleton(
        BeginPasskeyRegistration,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        webauthn=webauthn,
        clock=clock,
        ids=ids,
    )
    register_passkey = providers.Singleton(
        RegisterPasskey,
        uow=unit_of_work.provider,
        webauthn=webauthn,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    list_passkeys = providers.Singleton(ListPasskeys, uow=unit_of_work.provider)
    rename_passkey = providers.Singleton(RenamePasskey, uow=unit_of_work.provider, audit=audit)
    delete_passkey = providers.Singleton(DeletePasskey, uow=unit_of_work.provider, audit=audit)
    begin_passkey_sign_in = providers.Singleton(
        BeginPasskeySignIn, uow=unit_of_work.provider, webauthn=webauthn, clock=clock, ids=ids
    )
    sign_in_with_passkey = providers.Singleton(
        SignInWithPasskey,
        uow=unit_of_work.provider,
        webauthn=webauthn,
        tokens=access_tokens,
        clock=clock,
        ids=ids,
        lifetimes=token_lifetimes,
        audit=audit,
        metrics=security_metrics,
    )
    start_totp_setup = providers.Singleton(
        StartTotpSetup,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        authenticator=totp_authenticator,
        qr_codes=qr_codes,
        clock=clock,
    )
    confirm_totp = providers.Singleton(
        ConfirmTotp,
        uow=unit_of_work.provider,
        authenticator=totp_authenticator,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    disable_totp = providers.Singleton(
        DisableTotp,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        authenticator=totp_authenticator,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    renew_recovery_codes = providers.Singleton(
        RenewRecoveryCodes,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        authenticator=totp_authenticator,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    get_mfa_status = providers.Singleton(GetMfaStatus, uow=unit_of_work.provider)
    reset_mfa = providers.Singleton(
        ResetMfa, uow=unit_of_work.provider, clock=clock, ids=ids, audit=audit
    )
    refresh_tokens = providers.Singleton(
        RefreshTokens,
        uow=unit_of_work.provider,
        tokens=access_tokens,
        clock=clock,
        ids=ids,
        lifetimes=token_lifetimes,
        audit=audit,
        metrics=security_metrics,
    )
    revoke_sessions = providers.Singleton(
        RevokeSessions, uow=unit_of_work.provider, clock=clock, ids=ids, audit=audit
    )
    revoke_own_session = providers.Singleton(
        RevokeOwnSession, uow=unit_of_work.provider, clock=clock, ids=ids, audit=audit
    )
    list_sessions = providers.Singleton(ListSessions, uow=unit_of_work.provider, clock=clock)
    prune_sessions = providers.Singleton(PruneSessions, uow=unit_of_work.provider, clock=clock)
    authenticate = providers.Singleton(
        Authenticate, authenticated_users=authenticated_users, tokens=access_tokens, clock=clock
    )
    authenticate_browser = providers.Singleton(
        AuthenticateBrowser, uow=unit_of_work.provider, clock=clock
    )
    update_profile = providers.Singleton(
        UpdateProfile,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    change_password = providers.Singleton(
        ChangePassword,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        policy=password_policy,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    delete_account = providers.Singleton(
        DeleteAccount,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    ensure_signing_key = providers.Singleton(
        EnsureSigningKey,
        uow=unit_of_work.provider,
        factory=signing_key_factory,
        clock=clock,
        algorithms=SIGNING_ALGORITHMS,
    )
    rotate_signing_key = providers.Singleton(
        RotateSigningKey,
        uow=unit_of_work.provider,
        factory=signing_key_factory,
        clock=clock,
        algorithms=SIGNING_ALGORITHMS,
    )
    list_signing_keys = providers.Singleton(ListSigningKeys, uow=unit_of_work.provider)
    request_password_reset = providers.Singleton(
        RequestPasswordReset,
        uow=unit_of_work.provider,
        clock=clock,
        ids=ids,
        public_url=settings.provided.public_url,
    )
    reset_password = providers.Singleton(
        ResetPassword,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        policy=password_policy,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    request_email_verification = providers.Singleton(
        RequestEmailVerification,
        uow=unit_of_work.provider,
        clock=clock,
        ids=ids,
        public_url=settings.provided.public_url,
    )
    verify_email = providers.Singleton(
        VerifyEmail, uow=unit_of_work.provider, clock=clock, ids=ids, audit=audit
    )
    dispatch_outbox = providers.Singleton(
        DispatchOutbox, uow=unit_of_work.provider, mailer=mailer, clock=clock, ids=ids
    )
    list_users = providers.Singleton(ListUsers, uow=unit_of_work.provider)
    get_user = providers.Singleton(GetUser, uow=unit_of_work.provider)
    create_user = providers.Singleton(CreateUser, register=register_user)
    invite_user = providers.Singleton(
        InviteUser,
        uow=unit_of_work.provider,
        clock=clock,
        ids=ids,
        audit=audit,
        public_url=settings.provided.public_url,
    )
    open_invitation = providers.Singleton(OpenInvitation, uow=unit_of_work.provider, clock=clock)
    accept_invitation = providers.Singleton(
        AcceptInvitation,
        uow=unit_of_work.provider,
        hasher=password_hasher,
        policy=password_policy,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    update_user = providers.Singleton(
        UpdateUser, uow=unit_of_work.provider, clock=clock, ids=ids, audit=audit
    )
    delete_user = providers.Singleton(
        DeleteUser, uow=unit_of_work.provider, clock=clock, ids=ids, audit=audit
    )
    list_audit_events = providers.Singleton(ListAuditEvents, uow=unit_of_work.provider)
    create_or_promote_admin = providers.Singleton(
        CreateOrPromoteAdmin,
        uow=unit_of_work.provider,
        register=register_user,
        clock=clock,
        ids=ids,
        audit=audit,
    )
    authorize = providers.Singleton(
        Authorize,
        uow=unit_of_work.provider,
        clock=clock,
        ids=ids,
        audit=audit,
        issuer=settings.provided.public_url,
    )
    oauth_token_issuer = providers.Singleton(
        OAuthTokenIssuer,
        access_tokens=oauth_access_tokens,
        id_tokens=id_tokens,
        ids=ids,
        lifetimes=token_lifetimes,
    )
    request_tokens = providers.Singleton(
        RequestTokens,
        code_exchange=providers.Singleton(
            CodeExchange,
            uow=unit_of_work.provider,
            clock=clock,
            ids=ids,
            lifetimes=token_lifetimes,
            issuer=oauth_token_issuer,
            audit=audit,
            metrics=security_metrics,
        ),
        refresh=providers.Singleton(
            OAuthRefresh,
            uow=unit_of_work.provider,
            clock=clock,
            issuer=oauth_token_issuer,
            ids=ids,
            audit=audit,
            metrics=security_metrics,
        ),
    )
    revoke_token = providers.Singleton(
        RevokeToken,
        uow=unit_of_work.provider,
        clock=clock,
        tokens=oauth_access_tokens,
        ids=ids,
        audit=audit,
    )
    introspect_token = providers.Singleton(
        IntrospectToken,
        uow=unit_of_work.provider,
        reader=database.provided.introspection,
        clock=clock,
        tokens=oauth_access_tokens,
    )
    read_userinfo = providers.Singleton(
        ReadUserInfo, uow=unit_of_work.provider, clock=clock, tokens=oauth_access_tokens
    )
    register_client = providers.Singleton(
        RegisterClient, uow=unit_of_work.provider, clock=clock, audit=audit
    )
    list_clients = providers.Singleton(ListClients, uow=unit_of_work.provider)
    get_client = providers.Singleton(GetClient, uow=unit_of_work.provider)
    update_client = providers.Singleton(
        UpdateClient, uow=unit_of_work.provider, clock=clock, audit=audit
    )
    renew_client_secret = providers.Singleton(
        RenewClientSecret, uow=unit_of_work.provider, clock=clock, audit=audit
    )
    delete_client = providers.Singleton(DeleteClient, uow=unit_of_work.provider, audit=audit)
    webhook_targets = providers.Singleton(
        ResolvingWebhookTargets, allow_private=settings.provided.webhook_allow_private
    )
    register_webhook = providers.Singleton(
        RegisterWebhook,
        uow=unit_of_work.provider,
        clock=clock,
        ids=ids,
        audit=audit,
        targets=webhook_targets,
    )
    list_webhooks = providers.Singleton(ListWebhooks, uow=unit_of_work.provider)
    get_webhook = providers.Singleton(GetWebhook, uow=unit_of_work.provider)
    update_webhook = providers.Singleton(
        UpdateWebhook, uow=unit_of_work.provider, clock=clock, audit=audit, targets=webhook_targets
    )
    delete_webhook = providers.Singleton(DeleteWebhook, uow=unit_of_work.provider, audit=audit)
    list_webhook_deliveries = providers.Singleton(ListDeliveries, uow=unit_of_work.provider)
    send_webhook_test = providers.Singleton(
        SendTestEvent, uow=unit_of_work.provider, clock=clock, ids=ids
    )
    list_grants = providers.Singleton(ListGrants, uow=unit_of_work.provider)
    read_logout_request = providers.Singleton(
        ReadLogoutRequest, uow=unit_of_work.provider, id_tokens=id_tokens
    )
    withdraw_grant = providers.Singleton(
        WithdrawGrant, uow=unit_of_work.provider, clock=clock, ids=ids, audit=audit
    )
    list_upstream_providers = providers.Singleton(
        ListUpstreamProviders, providers=upstream_providers
    )
    start_upstream_sign_in = providers.Singleton(
        StartUpstreamSignIn,
        uow=unit_of_work.provider,
        providers=upstream_providers,
        clock=clock,
        ids=ids,
    )
    complete_upstream_sign_in = providers.Singleton(
        CompleteUpstreamSignIn,
        uow=unit_of_work.provider,
        providers=upstream_providers,
        clock=clock,
        ids=ids,
        lifetimes=token_lifetimes,
        audit=audit,
        metrics=security_metrics,
    )
    list_identities = providers.Singleton(ListIdentities, uow=unit_of_work.provider)
    unlink_identity = providers.Singleton(UnlinkIdentity, uow=unit_of_work.provider, audit=audit)
    check_readiness = providers.Singleton(CheckReadiness, probe=database)
    publish_public_keys = providers.Singleton(PublishPublicKeys, tokens=access_tokens)


def build_container(settings: Settings) -> Container:
    return Container(settings=settings)

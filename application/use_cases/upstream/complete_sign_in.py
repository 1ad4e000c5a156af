"""The second half of a sign-in through an upstream provider: the callback. The state must be
this browser's and unspent, the provider's ID token must check out, and then the rules of
domain.linked_identity say whose account opens (made, linked, or refused); an account with
TOTP still passes its second step. Every refusal is audited and signs nobody in."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import EmailAlreadyRegistered, IdentityAlreadyLinked
from application.ports.metrics import LoginOutcome, SecurityMetrics
from application.ports.persistence import UnitOfWork, UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.ports.upstream import (
    UpstreamIdentity,
    UpstreamProvider,
    UpstreamProviders,
    UpstreamSignInFailed,
)
from application.secret_tokens import hash_secret_token, new_secret_token
from application.sessions import new_session
from application.tokens import TokenLifetimes
from application.use_cases.log_in import throttle_key
from application.use_cases.upstream.refusals import (
    FROM_PROVIDER_FAILURE,
    UpstreamRefusal,
    UpstreamSignInRefused,
)
from application.webhook_events import record_user_event
from domain.audit_event import AuditEventType
from domain.auth_method import UPSTREAM_ONLY
from domain.email import Email
from domain.errors import InvalidDisplayName, InvalidEmail
from domain.linked_identity import (
    LinkedIdentity,
    LinkResolution,
    Resolution,
    UpstreamClaims,
    resolve_link,
    resolve_sign_in,
)
from domain.second_factor import DEFAULT_MFA_TOKEN_LIFETIME, MfaChallenge
from domain.session import SessionKind
from domain.upstream_sign_in import UpstreamSignIn
from domain.user import User, check_display_name
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class CompleteUpstreamSignInCommand:
    """What the callback brought: `state`, `code` and `error` from its query, `browser_state`
    from the cookie set when the sign-in began, `redirect_uri` the callback's own address."""

    provider_id: str
    redirect_uri: str
    state: str | None
    browser_state: str | None
    code: str | None
    error: str | None
    caller: Caller = NO_CALLER


@dataclass(frozen=True, slots=True)
class SignedInUpstream:
    """A browser session is open: `session_token` is its secret, for the cookie."""

    session_token: str
    session_id: UUID
    return_to: str | None


@dataclass(frozen=True, slots=True)
class SecondStepUpstream:
    """The account has TOTP: the second step comes next, with this token."""

    mfa_token: str
    return_to: str | None


@dataclass(frozen=True, slots=True)
class LinkedUpstream:
    """A signed-in person linked the upstream account to theirs."""

    provider_name: str
    return_to: str | None


UpstreamOutcome = SignedInUpstream | SecondStepUpstream | LinkedUpstream


class CompleteUpstreamSignIn:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        providers: UpstreamProviders,
        clock: Clock,
        ids: IdGenerator,
        lifetimes: TokenLifetimes,
        audit: AuditEvents,
        metrics: SecurityMetrics,
    ) -> None:
        self._uow = uow
        self._providers = providers
        self._clock = clock
        self._ids = ids
        self._lifetimes = lifetimes
        self._audit = audit
        self._metrics = metrics

    async def execute(self, command: CompleteUpstreamSignInCommand) -> UpstreamOutcome:
        """The outcome, or UpstreamSignInRefused (audited) with the reason."""
        provider = self._providers.get(command.provider_id)
        try:
            if provider is None:
                raise _Refused(UpstreamRefusal.UNKNOWN_PROVIDER)
            sign_in = await self._redeem(command, provider)
            if command.error is not None or command.code is None:
                raise _Refused(UpstreamRefusal.PROVIDER_ERROR)
            claims = _claims(await self._identity(provider, sign_in, command))
            if sign_in.link_user_id is not None:
                return await self._link(provider, sign_in, sign_in.link_user_id, claims, command)
            return await self._sign_in(provider, sign_in, claims, command)
        except _Refused as refused:
            await self._record_refusal(command, refused)
            raise UpstreamSignInRefused(
                refused.refusal, provider.name if provider else None
            ) from None

    async def _redeem(
        self, command: CompleteUpstreamSignInCommand, provider: UpstreamProvider
    ) -> UpstreamSignIn:
        """The sign-in this browser began, spent now: a callback replayed, or brought by another
        browser (which holds no such cookie), finds nothing."""
        state, held = command.state, command.browser_state
        # Compared as bytes: compare_digest refuses (TypeError) a str that is not ASCII.
        if not state or not held or not hmac.compare_digest(state.encode(), held.encode()):
            raise _Refused(UpstreamRefusal.STATE_MISMATCH)
        async with self._uow() as uow:
            sign_in = await uow.upstream_sign_ins.redeem(
                hash_secret_token(state), self._clock.now()
            )
            await uow.commit()
        if sign_in is None or sign_in.provider != provider.id:
            raise _Refused(UpstreamRefusal.STATE_MISMATCH)
        return sign_in

    async def _identity(
        self,
        provider: UpstreamProvider,
        sign_in: UpstreamSignIn,
        command: CompleteUpstreamSignInCommand,
    ) -> UpstreamIdentity:
        assert command.code is not None  # checked by the caller
        try:
            return await self._providers.identity(
                provider.id,
                code=command.code,
                code_verifier=sign_in.code_verifier,
                redirect_uri=command.redirect_uri,
                nonce=sign_in.nonce,
            )
        except UpstreamSignInFailed as failed:
            raise _Refused(FROM_PROVIDER_FAILURE[failed.failure]) from None

    async def _sign_in(
        self,
        provider: UpstreamProvider,
        sign_in: UpstreamSignIn,
        claims: UpstreamClaims,
        command: CompleteUpstreamSignInCommand,
    ) -> UpstreamOutcome:
        now = self._clock.now()
        async with self._uow() as uow:
            linked = await uow.linked_identities.find(provider.id, claims.subject)
            linked_user = await uow.users.get(linked.user_id) if linked else None
            same_email = None
            if linked_user is None and claims.email is not None:
                same_email = await uow.users.get_by_email(claims.email)
            resolution = resolve_sign_in(linked_user, same_email, claims)
            if resolution is Resolution.SIGN_IN_FIRST:
                raise _Refused(UpstreamRefusal.SIGN_IN_FIRST, same_email)
            if resolution is Resolution.NO_EMAIL:
                raise _Refused(UpstreamRefusal.NO_EMAIL)
            user = linked_user or same_email
            if user is not None and not user.is_active:
                self._metrics.login(LoginOutcome.ACCOUNT_DISABLED)
                raise _Refused(UpstreamRefusal.ACCOUNT_DISABLED, user)
            try:
                if resolution is Resolution.CREATE_ACCOUNT:
                    user = await self._create_account(uow, provider, claims, command.caller)
                if resolution is not Resolution.SIGN_IN:
                    assert user is not None
                    await self._add_identity(uow, provider, user, claims, command.caller)
            except (EmailAlreadyRegistered, IdentityAlreadyLinked):
                raise _Refused(UpstreamRefusal.CONFLICT) from None
            assert user is not None
            if linked is not None and linked.email != _text(claims.email):
                linked.seen_with(_text(claims.email))
                await uow.linked_identities.save_email(linked)
            if user.mfa_enabled:
                mfa_token = await self._second_step(uow, user)
                await uow.commit()
                self._metrics.login(LoginOutcome.MFA_REQUIRED)
                return SecondStepUpstream(mfa_token=mfa_token, return_to=sign_in.return_to)
            session, session_token = new_session(
                self._ids,
                self._lifetimes,
                user.id,
                command.caller,
                UPSTREAM_ONLY,
                now,
                SessionKind.BROWSER,
            )
            await uow.sessions.add(session)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.LOGIN_SUCCEEDED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id,
                    session_id=str(session.id),
                    method="upstream",
                    provider=provider.id,
                )
            )
            await uow.commit()
        self._metrics.login(LoginOutcome.SUCCESS)
        return SignedInUpstream(
            session_token=session_token, session_id=session.id, return_to=sign_in.return_to
        )

    async def _create_account(
        self,
        uow: UnitOfWork,
        provider: UpstreamProvider,
        claims: UpstreamClaims,
        caller: Caller,
    ) -> User:
        """An account with no password, verified only if the provider verified the email."""
        assert claims.email is not None
        now = self._clock.now()
        user = User.register(
            id=self._ids.new_id(),
            email=claims.email,
            password_hash=None,
            name=claims.name,
            now=now,
        )
        if claims.email_verified:
            user.mark_verified(now)
        await uow.users.add(user)
        await record_user_event(uow, WebhookEventType.USER_CREATED, user, self._ids, now)
        await uow.audit.record(
            self._audit.event(
                AuditEventType.SIGNED_UP,
                caller,
                user_id=user.id,
                actor_id=user.id,
                via="upstream",
                provider=provider.id,
                email_verified=claims.email_verified,
            )
        )
        return user

    async def _add_identity(
        self,
        uow: UnitOfWork,
        provider: UpstreamProvider,
        user: User,
        claims: UpstreamClaims,
        caller: Caller,
    ) -> LinkedIdentity:
        identity = LinkedIdentity(
            id=self._ids.new_id(),
            user_id=user.id,
            provider=provider.id,
            subject=claims.subject,
            email=_text(claims.email),
            created_at=self._clock.now(),
        )
        await uow.linked_identities.add(identity)
        await uow.audit.record(
            self._audit.event(
                AuditEventType.IDENTITY_LINKED,
                caller,
                user_id=user.id,
                actor_id=user.id,
                identity_id=str(identity.id),
                provider=provider.id,
            )
        )
        return identity

    async def _second_step(self, uow: UnitOfWork, user: User) -> str:
        """The second step's challenge, remembering that the first was an upstream sign-in.
        Wrong codes count against the account's login throttle, as after a password."""
        mfa_token = new_secret_token()
        now = self._clock.now()
        await uow.mfa_challenges.add(
            MfaChallenge(
                id=self._ids.new_id(),
                user_id=user.id,
                token_hash=hash_secret_token(mfa_token),
                throttle_key=throttle_key(user.email.value),
                created_at=now,
                expires_at=now + DEFAULT_MFA_TOKEN_LIFETIME,
                first_factor=UPSTREAM_ONLY,
            )
        )
        return mfa_token

    async def _link(
        self,
        provider: UpstreamProvider,
        sign_in: UpstreamSignIn,
        user_id: UUID,
        claims: UpstreamClaims,
        command: CompleteUpstreamSignInCommand,
    ) -> LinkedUpstream:
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None or not user.is_active:
                raise _Refused(UpstreamRefusal.ACCOUNT_DISABLED, user)
            linked = await uow.linked_identities.find(provider.id, claims.subject)
            resolution = resolve_link(linked.user_id if linked else None, user.id)
            if resolution is LinkResolution.LINKED_ELSEWHERE:
                raise _Refused(UpstreamRefusal.LINKED_ELSEWHERE, user)
            if resolution is LinkResolution.LINK:
                try:
                    await self._add_identity(uow, provider, user, claims, command.caller)
                except IdentityAlreadyLinked:
                    raise _Refused(UpstreamRefusal.CONFLICT, user) from None
                await uow.commit()
        return LinkedUpstream(provider_name=provider.name, return_to=sign_in.return_to)

    async def _record_refusal(
        self, command: CompleteUpstreamSignInCommand, refused: _Refused
    ) -> None:
        async with self._uow() as uow:
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.UPSTREAM_SIGN_IN_FAILED,
                    command.caller,
                    user_id=refused.user.id if refused.user else None,
                    actor_id=None,
                    provider=command.provider_id[:64],
                    reason=refused.refusal.value,
                )
            )
            await uow.commit()


class _Refused(Exception):
    """A refusal on its way out, with the account it concerns when there is one."""

    def __init__(self, refusal: UpstreamRefusal, user: User | None = None) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.user = user


def _claims(identity: UpstreamIdentity) -> UpstreamClaims:
    """The provider's claims as this service holds them: an email it cannot take for one, or a
    name it would refuse from a person, is left out rather than failing the sign-in."""
    try:
        email = Email.parse(identity.email) if identity.email else None
    except InvalidEmail:
        email = None
    try:
        name = check_display_name(identity.name)
    except InvalidDisplayName:
        name = None
    return UpstreamClaims(
        subject=identity.subject,
        email=email,
        email_verified=identity.email_verified and email is not None,
        name=name,
    )


def _text(email: Email | None) -> str | None:
    return email.value if email else None

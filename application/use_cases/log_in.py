from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import (
    AccountDisabled,
    InvalidCredentials,
    MfaRequired,
    TooManyRequests,
)
from application.ports.metrics import LoginOutcome, SecurityMetrics
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import AccessTokens, PasswordHasher
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token, new_secret_token
from application.sessions import new_session
from application.tokens import MFA_METHODS, TokenLifetimes, TokenPair, issue_token_pair
from domain.audit_event import AuditEventType
from domain.auth_method import PASSWORD_ONLY
from domain.email import Email
from domain.errors import InvalidEmail
from domain.login_throttle import FailedLogins, LoginThrottlePolicy
from domain.second_factor import DEFAULT_MFA_TOKEN_LIFETIME, MfaChallenge
from domain.session import SessionKind
from domain.user import User


@dataclass(frozen=True, slots=True)
class LogInCommand:
    email: str
    password: str
    caller: Caller = NO_CALLER
    session_kind: SessionKind = SessionKind.API


class LogIn:
    """Check a password and open a session. Unknown emails cost the same work as wrong passwords.
    Each attempt counts once in the login metrics, by how it ended."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        tokens: AccessTokens,
        clock: Clock,
        ids: IdGenerator,
        lifetimes: TokenLifetimes,
        audit: AuditEvents,
        throttle: LoginThrottlePolicy,
        metrics: SecurityMetrics,
        mfa_token_lifetime: timedelta = DEFAULT_MFA_TOKEN_LIFETIME,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._ids = ids
        self._lifetimes = lifetimes
        self._audit = audit
        self._throttle = throttle
        self._metrics = metrics
        self._mfa_token_lifetime = mfa_token_lifetime

    async def execute(self, command: LogInCommand) -> TokenPair:
        key = throttle_key(command.email)
        user, failures = await self._find_user(command.email, key)
        now = self._clock.now()
        if failures is not None and self._throttle.is_throttled(failures, now):
            # Refused before any hashing: a throttled guess costs us nothing.
            self._metrics.login(LoginOutcome.THROTTLED)
            raise TooManyRequests(self._throttle.retry_after_seconds(failures, now))
        # Verify outside any transaction: bcrypt takes far longer than a connection should be held.
        matches = await self._hasher.verify(command.password, user.password_hash if user else None)
        if user is None or not matches:
            await self._record_failure(
                command, key, user, "unknown_email" if user is None else "wrong_password"
            )
            self._metrics.login(LoginOutcome.INVALID_CREDENTIALS)
            raise InvalidCredentials()
        if not user.is_active:
            await self._record_failure(command, key, user, "account_disabled")
            self._metrics.login(LoginOutcome.ACCOUNT_DISABLED)
            raise AccountDisabled()
        new_hash = None
        # A password matched, so the account has one.
        if user.password_hash is not None and self._hasher.needs_rehash(user.password_hash):
            new_hash = await self._hasher.hash(command.password)
        pair = await self._open_session(user, command, key, new_hash)
        self._metrics.login(LoginOutcome.SUCCESS)
        return pair

    async def _record_failure(
        self, command: LogInCommand, key: str, user: User | None, reason: str
    ) -> None:
        async with self._uow() as uow:
            await uow.login_failures.record_failure(key, self._clock.now(), self._throttle)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.LOGIN_FAILED,
                    command.caller,
                    user_id=user.id if user else None,
                    actor_id=None,
                    reason=reason,
                )
            )
            await uow.commit()

    async def _find_user(self, raw_email: str, key: str) -> tuple[User | None, FailedLogins | None]:
        try:
            email: Email | None = Email.parse(raw_email)
        except InvalidEmail:
            email = None
        async with self._uow() as uow:
            failures = await uow.login_failures.get(key)
            user = await uow.users.get_by_email(email) if email else None
        return user, failures

    async def _open_session(
        self, verified: User, command: LogInCommand, key: str, new_hash: str | None
    ) -> TokenPair:
        """A session, or, for an account with a second factor, the second step of the login.
        The failure count is cleared only by a session: clearing it at the password would give
        someone who knows the password fresh guesses at the code with every login."""
        now = self._clock.now()
        session, refresh_token = new_session(
            self._ids,
            self._lifetimes,
            verified.id,
            command.caller,
            PASSWORD_ONLY,
            now,
            command.session_kind,
        )
        async with self._uow() as uow:
            # The account may have changed while the password was being checked.
            user = await uow.users.get(verified.id)
            if user is None or user.password_hash != verified.password_hash:
                self._metrics.login(LoginOutcome.INVALID_CREDENTIALS)
                raise InvalidCredentials()
            if not user.is_active:
                self._metrics.login(LoginOutcome.ACCOUNT_DISABLED)
                raise AccountDisabled()
            if new_hash is not None:
                user.set_password_hash(new_hash, now)
                await uow.users.save(user)
            if user.mfa_enabled:
                mfa_token = new_secret_token()
                await uow.mfa_challenges.add(
                    MfaChallenge(
                        id=self._ids.new_id(),
                        user_id=user.id,
                        token_hash=hash_secret_token(mfa_token),
                        throttle_key=key,
                        created_at=now,
                        expires_at=now + self._mfa_token_lifetime,
                    )
                )
                await uow.commit()
                self._metrics.login(LoginOutcome.MFA_REQUIRED)
                raise MfaRequired(mfa_token, MFA_METHODS)
            await uow.sessions.add(session)
            await uow.login_failures.clear(key)  # a success ends the count
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.LOGIN_SUCCEEDED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id,
                    session_id=str(session.id),
                )
            )
            await uow.commit()
        return await issue_token_pair(
            tokens=self._tokens,
            ids=self._ids,
            lifetimes=self._lifetimes,
            user=user,
            session=session,
            refresh_token=refresh_token,
            now=now,
        )


def throttle_key(raw_email: str) -> str:
    """The counter's key: the normalised email when it is one, else the trimmed lower-cased
    text; hashed, so no address that was merely typed at us is stored."""
    try:
        normalised = Email.parse(raw_email).value
    except InvalidEmail:
        normalised = raw_email.strip().lower()
    return hashlib.sha256(f"login:{normalised}".encode("utf-8", "surrogatepass")).hexdigest()

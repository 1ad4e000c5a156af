"""One in-memory fake per port, shared by every unit test. Honest: they keep the same rules
the real adapters keep (unique emails, rollback unless committed, usable sessions only)."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from application.errors import (
    EmailAlreadyRegistered,
    InvalidAccessToken,
    NotFound,
    StorageUnavailable,
)
from application.outbox import OutboxMessage
from application.pagination import Position
from application.ports.mail import MailDeliveryFailed, MailMessage
from application.ports.metrics import LoginOutcome
from application.ports.persistence import (
    AuditLog,
    LoginFailureCounter,
    MfaChallengeRepository,
    OneTimeTokenRepository,
    Outbox,
    RecoveryCodeRepository,
    SessionRepository,
    SigningKeyRepository,
    TotpFactorRepository,
    UserFilter,
    UserRepository,
)
from application.ports.security import AccessTokenClaims
from domain.audit_event import AuditEvent, AuditEventType
from domain.email import Email
from domain.login_throttle import FailedLogins, LoginThrottlePolicy
from domain.one_time_token import OneTimeToken, TokenPurpose
from domain.role import Role
from domain.second_factor import MAX_WRONG_CODES, MfaChallenge, RecoveryCode, TotpFactor
from domain.session import Session
from domain.session_scope import SessionScope
from domain.signing_key import SigningKey
from domain.user import User


@dataclass
class InMemoryStore:
    users: dict[UUID, User] = field(default_factory=dict)
    sessions: dict[UUID, Session] = field(default_factory=dict)
    signing_keys: dict[str, SigningKey] = field(default_factory=dict)
    rotated_refresh_tokens: dict[str, UUID] = field(default_factory=dict)
    one_time_tokens: dict[UUID, OneTimeToken] = field(default_factory=dict)
    outbox: dict[UUID, OutboxMessage] = field(default_factory=dict)
    outbox_claims: dict[UUID, tuple[str, datetime]] = field(default_factory=dict)
    audit_events: list[AuditEvent] = field(default_factory=list)
    login_failures: dict[str, FailedLogins] = field(default_factory=dict)
    totp_factors: dict[UUID, TotpFactor] = field(default_factory=dict)
    recovery_codes: dict[UUID, RecoveryCode] = field(default_factory=dict)
    mfa_challenges: dict[UUID, MfaChallenge] = field(default_factory=dict)


class InMemoryUserRepository:
    """Writes back only the fields that changed since it read, tracked or wrote a user, as
    the real repository does."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._as_stored: dict[UUID, User] = {}

    async def add(self, user: User) -> None:
        self._refuse_taken_email(user)
        self._store.users[user.id] = copy.deepcopy(user)
        self._as_stored[user.id] = copy.deepcopy(user)

    async def get(self, user_id: UUID) -> User | None:
        user = self._store.users.get(user_id)
        return self._loaded(user) if user else None

    async def get_by_email(self, email: Email) -> User | None:
        for user in self._store.users.values():
            if user.email == email:
                return self._loaded(user)
        return None

    def track(self, user: User) -> User:
        return self._loaded(user)

    async def save(self, user: User) -> None:
        before = self._as_stored.get(user.id)
        changed = {
            f.name: getattr(user, f.name)
            for f in fields(User)
            if before is None or getattr(before, f.name) != getattr(user, f.name)
        }
        if not changed:
            return
        self._refuse_taken_email(user)
        stored = self._store.users.get(user.id)
        if stored is None:
            raise NotFound("user")
        self._store.users[user.id] = replace(stored, **copy.deepcopy(changed))
        self._as_stored[user.id] = copy.deepcopy(user)

    def _loaded(self, user: User) -> User:
        self._as_stored[user.id] = copy.deepcopy(user)
        return copy.deepcopy(user)

    async def delete(self, user_id: UUID) -> None:
        self._store.users.pop(user_id, None)
        doomed = {s.id for s in self._store.sessions.values() if s.user_id == user_id}
        _delete_sessions(self._store, doomed)
        # As the foreign key's ON DELETE CASCADE does.
        self._store.one_time_tokens = {
            token_id: t
            for token_id, t in self._store.one_time_tokens.items()
            if t.user_id != user_id
        }

    async def list_page(
        self, filter: UserFilter, *, after: Position | None, limit: int
    ) -> list[User]:
        def matches(user: User) -> bool:
            q = (filter.q or "").lower()
            return (
                (not q or q in user.email.value or q in (user.name or "").lower())
                and (filter.role is None or user.role == filter.role)
                and (filter.is_active is None or user.is_active == filter.is_active)
                and (after is None or (user.created_at, user.id) > (after.created_at, after.id))
            )

        found = sorted(
            (u for u in self._store.users.values() if matches(u)),
            key=lambda u: (u.created_at, u.id),
        )
        return copy.deepcopy(found[:limit])

    async def lock_active_admins(self) -> set[UUID]:
        return await self.active_admins()

    async def active_admins(self) -> set[UUID]:
        return {u.id for u in self._store.users.values() if u.role is Role.ADMIN and u.is_active}

    def _refuse_taken_email(self, user: User) -> None:
        if any(o.email == user.email and o.id != user.id for o in self._store.users.values()):
            raise EmailAlreadyRegistered()


class InMemorySessionRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def add(self, session: Session) -> None:
        self._store.sessions[session.id] = copy.deepcopy(session)

    async def revoke(self, scope: SessionScope, now: datetime) -> int:
        revoked = 0
        for session in self._store.sessions.values():
            if scope.includes(session):
                session.revoke(now)
                revoked += 1
        return revoked

    async def rotate_refresh_token(
        self, presented_hash: str, new_hash: str, now: datetime
    ) -> Session | None:
        for session in self._store.sessions.values():
            if session.refresh_token_hash == presented_hash and session.is_usable(now):
                session.rotate(new_hash, now)
                self._store.rotated_refresh_tokens[presented_hash] = session.id
                return copy.deepcopy(session)
        return None

    async def find_by_rotated_token(self, token_hash: str) -> Session | None:
        session_id = self._store.rotated_refresh_tokens.get(token_hash)
        session = self._store.sessions.get(session_id) if session_id is not None else None
        return copy.deepcopy(session) if session else None

    async def list_usable_of_user(self, user_id: UUID, now: datetime) -> list[Session]:
        usable = [
            s for s in self._store.sessions.values() if s.user_id == user_id and s.is_usable(now)
        ]
        # As the SQL adapter orders them: newest first, ties by ascending id.
        usable.sort(key=lambda s: s.id)
        usable.sort(key=lambda s: s.created_at, reverse=True)
        return copy.deepcopy(usable)

    async def prune(self, *, expired_before: datetime, revoked_before: datetime) -> int:
        doomed = {
            s.id
            for s in self._store.sessions.values()
            if s.expires_at <= expired_before
            or (s.revoked_at is not None and s.revoked_at <= revoked_before)
        }
        _delete_sessions(self._store, doomed)
        return len(doomed)


def _delete_sessions(store: InMemoryStore, doomed: set[UUID]) -> None:
    """Delete sessions and, as the foreign key's ON DELETE CASCADE does, their rotated tokens."""
    for session_id in doomed:
        del store.sessions[session_id]
    store.rotated_refresh_tokens = {
        token: owner for token, owner in store.rotated_refresh_tokens.items() if owner not in doomed
    }


class InMemorySigningKeyRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def list(self) -> list[SigningKey]:
        keys = sorted(self._store.signing_keys.values(), key=lambda k: (k.created_at, k.kid))
        return [copy.deepcopy(key) for key in reversed(keys)]

    async def add(self, key: SigningKey) -> None:
        self._store.signing_keys[key.kid] = copy.deepcopy(key)

    async def save(self, key: SigningKey) -> None:
        if key.kid in self._store.signing_keys:
            self._store.signing_keys[key.kid] = copy.deepcopy(key)


class InMemoryOneTimeTokenRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def add(self, token: OneTimeToken) -> None:
        if any(t.token_hash == token.token_hash for t in self._store.one_time_tokens.values()):
            raise ValueError("duplicate token hash")
        self._store.one_time_tokens[token.id] = copy.deepcopy(token)

    async def find_usable(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> OneTimeToken | None:
        for token in self._store.one_time_tokens.values():
            if token.token_hash == token_hash and token.purpose == purpose and token.is_usable(now):
                return copy.deepcopy(token)
        return None

    async def consume(self, token_id: UUID, now: datetime) -> bool:
        token = self._store.one_time_tokens.get(token_id)
        if token is None or not token.is_usable(now):
            return False
        token.used_at = now
        return True

    async def invalidate_unused(self, user_id: UUID, purpose: TokenPurpose, now: datetime) -> int:
        count = 0
        for token in self._store.one_time_tokens.values():
            if token.user_id == user_id and token.purpose == purpose and token.used_at is None:
                token.used_at = now
                count += 1
        return count

    async def count_created_since(
        self, user_id: UUID, purpose: TokenPurpose, since: datetime
    ) -> int:
        return sum(
            1
            for t in self._store.one_time_tokens.values()
            if t.user_id == user_id and t.purpose == purpose and t.created_at >= since
        )


class InMemoryOutbox:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def add(self, message: OutboxMessage) -> None:
        self._store.outbox[message.id] = copy.deepcopy(message)

    async def claim_due(
        self, now: datetime, *, claimant: str, lease: timedelta, limit: int
    ) -> list[OutboxMessage]:
        due = sorted(
            (
                m
                for m in self._store.outbox.values()
                if m.sent_at is None
                and m.failed_at is None
                and m.next_attempt_at <= now
                and self._claim_lapsed(m.id, now)
            ),
            key=lambda m: m.next_attempt_at,
        )[:limit]
        for message in due:
            self._store.outbox_claims[message.id] = (claimant, now + lease)
        return copy.deepcopy(due)

    async def mark_sent(self, message_id: UUID, claimant: str, now: datetime) -> None:
        if self._claimed_by(message_id) == claimant:
            message = self._store.outbox[message_id]
            message.sent_at = now
            message.attempts += 1
            del self._store.outbox_claims[message_id]

    async def mark_failed(
        self,
        message_id: UUID,
        claimant: str,
        *,
        error: str,
        next_attempt_at: datetime,
        give_up_at: datetime | None,
    ) -> None:
        if self._claimed_by(message_id) == claimant:
            message = self._store.outbox[message_id]
            message.attempts += 1
            message.next_attempt_at = next_attempt_at
            message.failed_at = give_up_at
            message.last_error = error
            del self._store.outbox_claims[message_id]

    def _claim_lapsed(self, message_id: UUID, now: datetime) -> bool:
        claim = self._store.outbox_claims.get(message_id)
        return claim is None or claim[1] < now

    def _claimed_by(self, message_id: UUID) -> str | None:
        claim = self._store.outbox_claims.get(message_id)
        return claim[0] if claim else None


class InMemoryAuditLog:
    """As the table keeps events: the id is a primary key and `data` is a JSON column, so it
    must be JSON (no UUID or datetime objects) and comes back as JSON (tuples as lists).
    `unavailable` stands for the database failing on this insert."""

    def __init__(self, store: InMemoryStore, *, unavailable: bool = False) -> None:
        self._store = store
        self._unavailable = unavailable

    async def record(self, event: AuditEvent) -> None:
        if self._unavailable:
            raise StorageUnavailable()
        if any(e.id == event.id for e in self._store.audit_events):
            raise ValueError("duplicate audit event id")
        data = json.loads(json.dumps(event.data))
        self._store.audit_events.append(replace(event, data=data))

    async def list_page(
        self,
        *,
        user_id: UUID | None,
        type: AuditEventType | None,
        before: Position | None,
        limit: int,
    ) -> list[AuditEvent]:
        events = sorted(self._store.audit_events, key=lambda e: (e.created_at, e.id), reverse=True)
        page = [
            e
            for e in events
            if (user_id is None or e.user_id == user_id)
            and (type is None or e.type == type)
            and (before is None or (e.created_at, e.id) < (before.created_at, before.id))
        ][:limit]
        return copy.deepcopy(page)


class InMemoryLoginFailureCounter:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def get(self, key: str) -> FailedLogins | None:
        return self._store.login_failures.get(key)

    async def record_failure(
        self, key: str, now: datetime, policy: LoginThrottlePolicy
    ) -> FailedLogins:
        record = policy.after_failure(self._store.login_failures.get(key), key, now)
        self._store.login_failures[key] = record
        return record

    async def clear(self, key: str) -> None:
        self._store.login_failures.pop(key, None)


class InMemoryTotpFactorRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def get(self, user_id: UUID) -> TotpFactor | None:
        return copy.deepcopy(self._store.totp_factors.get(user_id))

    async def put_pending(self, factor: TotpFactor) -> None:
        current = self._store.totp_factors.get(factor.user_id)
        if current is not None and current.is_enabled:
            raise RuntimeError("the fake refuses what the table's primary key would")
        self._store.totp_factors[factor.user_id] = replace(
            factor, confirmed_at=None, last_step=None
        )

    async def confirm(self, factor: TotpFactor, step: int, now: datetime) -> bool:
        current = self._store.totp_factors.get(factor.user_id)
        if current is None or current.is_enabled or current.created_at != factor.created_at:
            return False
        current.confirmed_at, current.last_step = now, step
        return True

    async def accept_step(self, user_id: UUID, step: int) -> bool:
        current = self._store.totp_factors.get(user_id)
        if current is None or not current.is_enabled or not current.accepts_step(step):
            return False
        current.last_step = step
        return True

    async def delete(self, user_id: UUID) -> None:
        self._store.totp_factors.pop(user_id, None)


class InMemoryRecoveryCodeRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def replace(self, user_id: UUID, codes: list[RecoveryCode]) -> None:
        await self.delete_all(user_id)
        self._store.recovery_codes.update({code.id: code for code in codes})

    async def unused(self, user_id: UUID) -> list[RecoveryCode]:
        return [
            code
            for code in self._store.recovery_codes.values()
            if code.user_id == user_id and code.used_at is None
        ]

    async def use(self, code_id: UUID, now: datetime) -> bool:
        code = self._store.recovery_codes.get(code_id)
        if code is None or code.used_at is not None:
            return False
        self._store.recovery_codes[code_id] = replace(code, used_at=now)
        return True

    async def delete_all(self, user_id: UUID) -> None:
        self._store.recovery_codes = {
            code_id: code
            for code_id, code in self._store.recovery_codes.items()
            if code.user_id != user_id
        }


class InMemoryMfaChallengeRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def add(self, challenge: MfaChallenge) -> None:
        self._store.mfa_challenges[challenge.id] = copy.deepcopy(challenge)

    async def find(self, token_hash: str) -> MfaChallenge | None:
        for challenge in self._store.mfa_challenges.values():
            if challenge.token_hash == token_hash:
                return copy.deepcopy(challenge)
        return None

    async def record_wrong_code(self, challenge_id: UUID) -> None:
        challenge = self._open(challenge_id)
        if challenge is not None:
            challenge.failures += 1

    async def spend(self, challenge_id: UUID, now: datetime) -> bool:
        challenge = self._open(challenge_id)
        if challenge is None:
            return False
        challenge.spent_at = now
        return True

    async def prune(self, *, expired_before: datetime) -> int:
        doomed = [
            challenge_id
            for challenge_id, challenge in self._store.mfa_challenges.items()
            if challenge.expires_at <= expired_before
        ]
        for challenge_id in doomed:
            del self._store.mfa_challenges[challenge_id]
        return len(doomed)

    def _open(self, challenge_id: UUID) -> MfaChallenge | None:
        challenge = self._store.mfa_challenges.get(challenge_id)
        if challenge is None or challenge.spent_at is not None:
            return None
        return challenge if challenge.failures < MAX_WRONG_CODES else None


class RecordingMailer:
    """Keeps every message it is given; `failures` makes the next N sends fail."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[MailMessage] = []
        self.failures = failures
        self.attempts = 0

    async def send(self, message: MailMessage) -> None:
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            raise MailDeliveryFailed("the mail server said 451: try again later")
        self.sent.append(message)


class FakeUnitOfWork:
    """Works on a copy of the store; commit() publishes the copy, leaving without it drops it."""

    users: UserRepository
    sessions: SessionRepository
    signing_keys: SigningKeyRepository
    one_time_tokens: OneTimeTokenRepository
    outbox: Outbox
    audit: AuditLog
    login_failures: LoginFailureCounter
    totp: TotpFactorRepository
    recovery_codes: RecoveryCodeRepository
    mfa_challenges: MfaChallengeRepository

    def __init__(self, store: InMemoryStore, *, audit_unavailable: bool = False) -> None:
        self._shared = store
        self._audit_unavailable = audit_unavailable
        self.committed = False

    async def __aenter__(self) -> Self:
        self._working = copy.deepcopy(self._shared)
        self.users = InMemoryUserRepository(self._working)
        self.sessions = InMemorySessionRepository(self._working)
        self.signing_keys = InMemorySigningKeyRepository(self._working)
        self.one_time_tokens = InMemoryOneTimeTokenRepository(self._working)
        self.outbox = InMemoryOutbox(self._working)
        self.audit = InMemoryAuditLog(self._working, unavailable=self._audit_unavailable)
        self.login_failures = InMemoryLoginFailureCounter(self._working)
        self.totp = InMemoryTotpFactorRepository(self._working)
        self.recovery_codes = InMemoryRecoveryCodeRepository(self._working)
        self.mfa_challenges = InMemoryMfaChallengeRepository(self._working)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        for name in (f.name for f in fields(InMemoryStore)):
            setattr(self._shared, name, getattr(self._working, name))
        self.committed = True


class FakeUnitOfWorkFactory:
    """`audit_unavailable` makes every audit insert fail, as a database failing mid-transaction
    would: what the transaction changed before it must be rolled back with it."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()
        self.opened: list[FakeUnitOfWork] = []
        self.audit_unavailable = False

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.store, audit_unavailable=self.audit_unavailable)
        self.opened.append(uow)
        return uow

    @property
    def commits(self) -> int:
        return sum(uow.committed for uow in self.opened)


class InMemoryAuthenticatedUserReader:
    """Reads the store of a FakeUnitOfWorkFactory as it stands (what units of work committed)."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        session = self._store.sessions.get(session_id)
        if session is None or session.user_id != user_id or not session.is_usable(now):
            return None
        user = self._store.users.get(user_id)
        return copy.deepcopy(user) if user and user.is_active else None

    async def aclose(self) -> None:
        pass


class FakePasswordHasher:
    """Readable hashes ("fake$<cost>$<password>") so tests can see what was stored, with the
    same contract as bcrypt: verify with no hash still counts as work and returns False, and a
    hash it cannot read is a mismatch (verify) or one to replace (needs_rehash), never a crash.

    `during_verify` and `during_hash`, when set, run while a password is being checked or
    hashed: they stand for another request changing the account in the long moment bcrypt
    takes."""

    def __init__(self, cost: int = 12) -> None:
        self.cost = cost
        self.verifications = 0
        self.during_verify: Callable[[], Awaitable[None]] | None = None
        self.during_hash: Callable[[], Awaitable[None]] | None = None

    async def hash(self, password: str) -> str:
        if self.during_hash is not None:
            await self.during_hash()
        return f"fake${self.cost}${password}"

    async def verify(self, password: str, password_hash: str | None) -> bool:
        self.verifications += 1
        if self.during_verify is not None:
            await self.during_verify()
        parts = _parse_fake_hash(password_hash)
        return parts is not None and parts[1] == password

    def needs_rehash(self, password_hash: str) -> bool:
        parts = _parse_fake_hash(password_hash)
        return parts is None or parts[0] != self.cost


def _parse_fake_hash(password_hash: str | None) -> tuple[int, str] | None:
    if password_hash is None:
        return None
    scheme, _, rest = password_hash.partition("$")
    cost, separator, password = rest.partition("$")
    if scheme != "fake" or not separator or not cost.isdigit():
        return None
    return int(cost), password


class FakeAccessTokens:
    """Tokens are opaque handles to the claims they were issued with."""

    def __init__(self, clock: FixedClock) -> None:
        self._clock = clock
        self.issued: dict[str, AccessTokenClaims] = {}
        self.public_keys: list[dict[str, Any]] = [{"kid": "fake", "kty": "OKP"}]

    async def issue(self, claims: AccessTokenClaims) -> str:
        token = f"token-{len(self.issued) + 1}"
        self.issued[token] = claims
        return token

    async def verify(self, token: str) -> AccessTokenClaims:
        claims = self.issued.get(token)
        if claims is None or claims.expires_at <= self._clock.now():
            raise InvalidAccessToken()
        return claims

    async def public_jwks(self) -> list[dict[str, Any]]:
        return self.public_keys


class FixedClock:
    """Time stands still until a test moves it. advance() moves both readings; setting
    `current` alone is the wall clock being set, which the monotonic reading never sees."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        self.elapsed = 0.0

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.elapsed

    def advance(self, **delta: float) -> None:
        step = timedelta(**delta)
        self.current += step
        self.elapsed += step.total_seconds()


class SequentialIds:
    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new_id(self) -> UUID:
        return UUID(int=next(self._counter))


class FakeSigningKeyFactory:
    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def generate(self, algorithm: str, now: datetime) -> SigningKey:
        kid = f"key-{next(self._counter)}"
        return SigningKey(
            kid=kid,
            algorithm=algorithm,
            private_key_pem="not a real key",
            public_jwk={"kid": kid, "alg": algorithm},
            created_at=now,
        )


class FakeDatabaseProbe:
    """Answers while `available`; otherwise fails the way the real probe does."""

    def __init__(self, *, available: bool = True) -> None:
        self.available = available
        self.pings = 0

    async def ping(self) -> None:
        self.pings += 1
        if not self.available:
            raise StorageUnavailable()


class RecordingSecurityMetrics:
    """Every count a use case made, in order."""

    def __init__(self) -> None:
        self.logins: list[LoginOutcome] = []
        self.refresh_token_reuses = 0

    def login(self, outcome: LoginOutcome) -> None:
        self.logins.append(outcome)

    def refresh_token_reused(self) -> None:
        self.refresh_token_reuses += 1

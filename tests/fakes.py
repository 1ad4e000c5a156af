"""One in-memory fake per port, shared by every unit test. Honest: they keep the same rules
the real adapters keep (unique emails, rollback unless committed, usable sessions only), and
the adapters' contract suites in tests/integration run on them too, to keep them so."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from application.errors import (
    EmailAlreadyRegistered,
    IdentityAlreadyLinked,
    InvalidAccessToken,
    MfaAlreadyEnabled,
    NotFound,
    PasskeyAlreadyRegistered,
    StorageUnavailable,
    UnsafeWebhookTarget,
)
from application.oidc_tokens import IdTokenClaims, IdTokenHint, OAuthAccessTokenClaims
from application.outbox import OutboxMessage
from application.pagination import Position
from application.ports.mail import MailDeliveryFailed, MailMessage
from application.ports.metrics import LoginOutcome
from application.ports.persistence import (
    AuditLog,
    AuthorizationCodeRepository,
    DeliveryQueue,
    GrantRepository,
    IntrospectionFacts,
    InvitationRepository,
    LinkedIdentityRepository,
    LoginFailureCounter,
    MfaChallengeRepository,
    OAuthClientRepository,
    OAuthSessionOfToken,
    OneTimeTokenRepository,
    Outbox,
    PasskeyRepository,
    RecoveryCodeRepository,
    SessionRepository,
    SigningKeyRepository,
    TotpFactorRepository,
    UpstreamSignInRepository,
    UserFilter,
    UserRepository,
    WebAuthnChallengeRepository,
    WebhookEventLog,
    WebhookRepository,
)
from application.ports.security import AccessTokenClaims
from application.ports.upstream import (
    UpstreamAuthorization,
    UpstreamFailure,
    UpstreamIdentity,
    UpstreamProvider,
    UpstreamSignInFailed,
)
from domain.audit_event import AuditEvent, AuditEventType
from domain.authorization_code import AuthorizationCode
from domain.email import Email
from domain.grant import Grant
from domain.invitation import Invitation
from domain.linked_identity import LinkedIdentity
from domain.login_throttle import FailedLogins, LoginThrottlePolicy
from domain.oauth_client import IdTokenAlgorithm, OAuthClient
from domain.one_time_token import OneTimeToken, TokenPurpose
from domain.passkey import (
    ChallengePurpose,
    Passkey,
    WebAuthnChallenge,
    sign_count_is_acceptable,
)
from domain.pkce import s256_challenge
from domain.role import Role
from domain.second_factor import MAX_WRONG_CODES, MfaChallenge, RecoveryCode, TotpFactor
from domain.session import Session, SessionKind
from domain.session_scope import SessionScope
from domain.signing_key import SigningKey
from domain.upstream_sign_in import UpstreamSignIn
from domain.user import User
from domain.webhook import (
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class InMemoryStore:
    """What has been committed, table by table, each row under its primary key."""

    users: dict[UUID, User] = field(default_factory=dict)
    sessions: dict[UUID, Session] = field(default_factory=dict)
    signing_keys: dict[str, SigningKey] = field(default_factory=dict)
    rotated_refresh_tokens: dict[str, UUID] = field(default_factory=dict)
    one_time_tokens: dict[UUID, OneTimeToken] = field(default_factory=dict)
    invitations: dict[UUID, Invitation] = field(default_factory=dict)
    outbox: dict[UUID, OutboxMessage] = field(default_factory=dict)
    outbox_claims: dict[UUID, tuple[str, datetime]] = field(default_factory=dict)
    audit_events: dict[UUID, AuditEvent] = field(default_factory=dict)
    login_failures: dict[str, FailedLogins] = field(default_factory=dict)
    totp_factors: dict[UUID, TotpFactor] = field(default_factory=dict)
    recovery_codes: dict[UUID, RecoveryCode] = field(default_factory=dict)
    mfa_challenges: dict[UUID, MfaChallenge] = field(default_factory=dict)
    passkeys: dict[UUID, Passkey] = field(default_factory=dict)
    webauthn_challenges: dict[UUID, WebAuthnChallenge] = field(default_factory=dict)
    oauth_clients: dict[str, OAuthClient] = field(default_factory=dict)
    oauth_codes: dict[UUID, AuthorizationCode] = field(default_factory=dict)
    oauth_grants: dict[tuple[UUID, str], Grant] = field(default_factory=dict)
    linked_identities: dict[UUID, LinkedIdentity] = field(default_factory=dict)
    upstream_sign_ins: dict[UUID, UpstreamSignIn] = field(default_factory=dict)
    webhooks: dict[UUID, Webhook] = field(default_factory=dict)
    webhook_events: dict[str, WebhookEvent] = field(default_factory=dict)
    webhook_deliveries: dict[UUID, QueuedDelivery] = field(default_factory=dict)
    # As a database sequence: a number taken is never given back, even by a rollback.
    last_delivery_seq: int = 0

    def next_delivery_seq(self) -> int:
        self.last_delivery_seq += 1
        return self.last_delivery_seq


@dataclass(frozen=True)
class QueuedDelivery:
    """A row of webhook_deliveries: the delivery, its place in its account's order, its claim."""

    seq: int
    delivery: WebhookDelivery
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    finished_at: datetime | None = None


RowLocks = defaultdict[tuple[str, Hashable], asyncio.Lock]


class Transaction:
    """One unit of work's transaction: its tables, and the row locks it holds until it ends."""

    def __init__(self, store: InMemoryStore, locks: RowLocks) -> None:
        self._locks = locks
        self._held: dict[tuple[str, Hashable], asyncio.Lock] = {}
        self.users = Table("users", store.users, self)
        self.sessions = Table("sessions", store.sessions, self)
        self.signing_keys = Table("signing_keys", store.signing_keys, self)
        self.rotated_refresh_tokens = Table(
            "rotated_refresh_tokens", store.rotated_refresh_tokens, self
        )
        self.one_time_tokens = Table("one_time_tokens", store.one_time_tokens, self)
        self.invitations = Table("invitations", store.invitations, self)
        self.outbox = Table("outbox", store.outbox, self)
        self.outbox_claims = Table("outbox_claims", store.outbox_claims, self)
        self.audit_events = Table("audit_events", store.audit_events, self)
        self.login_failures = Table("login_failures", store.login_failures, self)
        self.totp_factors = Table("totp_factors", store.totp_factors, self)
        self.recovery_codes = Table("recovery_codes", store.recovery_codes, self)
        self.mfa_challenges = Table("mfa_challenges", store.mfa_challenges, self)
        self.passkeys = Table("passkeys", store.passkeys, self)
        self.webauthn_challenges = Table("webauthn_challenges", store.webauthn_challenges, self)
        self.oauth_clients = Table("oauth_clients", store.oauth_clients, self)
        self.oauth_codes = Table("oauth_codes", store.oauth_codes, self)
        self.oauth_grants = Table("oauth_grants", store.oauth_grants, self)
        self.linked_identities = Table("linked_identities", store.linked_identities, self)
        self.upstream_sign_ins = Table("upstream_sign_ins", store.upstream_sign_ins, self)
        self.webhooks = Table("webhooks", store.webhooks, self)
        self.webhook_events = Table("webhook_events", store.webhook_events, self)
        self.webhook_deliveries = Table("webhook_deliveries", store.webhook_deliveries, self)
        self.next_delivery_seq = store.next_delivery_seq
        self._tables: list[Table[Any, Any]] = [
            self.users,
            self.sessions,
            self.signing_keys,
            self.rotated_refresh_tokens,
            self.one_time_tokens,
            self.invitations,
            self.outbox,
            self.outbox_claims,
            self.audit_events,
            self.login_failures,
            self.totp_factors,
            self.recovery_codes,
            self.mfa_challenges,
            self.passkeys,
            self.webauthn_challenges,
            self.oauth_clients,
            self.oauth_codes,
            self.oauth_grants,
            self.linked_identities,
            self.upstream_sign_ins,
            self.webhooks,
            self.webhook_events,
            self.webhook_deliveries,
        ]

    async def lock(self, key: tuple[str, Hashable]) -> None:
        """Hold the lock on a row (or on a value of a unique index) until the transaction ends;
        while another transaction holds it, wait."""
        if key not in self._held:
            lock = self._locks[key]
            await lock.acquire()
            self._held[key] = lock

    def end(self, *, commit: bool) -> None:
        """Apply the rows written (or drop them), release every lock: the next write begins
        a transaction anew."""
        for table in self._tables:
            table.end(commit=commit)
        for lock in self._held.values():
            lock.release()
        self._held.clear()


class Table(Generic[K, V]):
    """A table as one transaction sees it: the rows committed now, with its own writes on top
    (read committed, PostgreSQL's default). The rows it hands out are shared: copy one before
    changing it, and put() the copy."""

    def __init__(self, name: str, committed: dict[K, V], transaction: Transaction) -> None:
        self._name = name
        self._committed = committed
        self._transaction = transaction
        self._written: dict[K, V | None] = {}  # None: deleted

    def get(self, key: K) -> V | None:
        return self._written[key] if key in self._written else self._committed.get(key)

    def items(self) -> list[tuple[K, V]]:
        rows = {**self._committed, **self._written}
        return [(key, row) for key, row in rows.items() if row is not None]

    def rows(self) -> list[V]:
        return [row for _, row in self.items()]

    async def locked(self, key: K) -> V | None:
        """The row as it is once its lock is held, as SELECT … FOR UPDATE reads it."""
        await self._transaction.lock((self._name, key))
        return self.get(key)

    async def lock_where(self, matches: Callable[[V], bool]) -> list[V]:
        """The rows that match, each locked and checked again once locked: a row another
        transaction changed meanwhile may no longer match, as UPDATE … WHERE re-checks it."""
        found = []
        for key, row in self.items():
            if matches(row):
                current = await self.locked(key)
                if current is not None and matches(current):
                    found.append(current)
        return found

    async def put(self, key: K, row: V) -> None:
        await self._transaction.lock((self._name, key))
        self._written[key] = _in_utc(row)

    async def delete(self, key: K) -> None:
        await self._transaction.lock((self._name, key))
        self._written[key] = None

    def end(self, *, commit: bool) -> None:
        if commit:
            for key, row in self._written.items():
                if row is None:
                    self._committed.pop(key, None)
                else:
                    self._committed[key] = row
        self._written.clear()


def _in_utc(row: V) -> V:
    """As a timezone-aware column keeps timestamps: in UTC, and a naive one is refused."""
    if not is_dataclass(row) or isinstance(row, type):
        return row
    moments = {
        f.name: value for f in fields(row) if isinstance(value := getattr(row, f.name), datetime)
    }
    if any(moment.tzinfo is None for moment in moments.values()):
        raise ValueError("naive datetime given to a UtcDateTime column")
    return cast(V, replace(row, **{name: m.astimezone(UTC) for name, m in moments.items()}))


def _is_active_admin(user: User) -> bool:
    return user.role is Role.ADMIN and user.is_active


class InMemoryUserRepository:
    """Writes back only the fields that changed since it read, tracked or wrote a user, as
    the real repository does."""

    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._users = transaction.users
        self._as_stored: dict[UUID, User] = {}

    async def add(self, user: User) -> None:
        await self._refuse_taken_email(user)
        await self._users.put(user.id, copy.deepcopy(user))
        self._as_stored[user.id] = copy.deepcopy(user)

    async def get(self, user_id: UUID) -> User | None:
        user = self._users.get(user_id)
        return self._loaded(user) if user else None

    async def get_for_update(self, user_id: UUID) -> User | None:
        user = await self._users.locked(user_id)
        return self._loaded(user) if user else None

    async def get_by_email(self, email: Email) -> User | None:
        for user in self._users.rows():
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
        if "email" in changed:
            await self._refuse_taken_email(user)
        stored = await self._users.locked(user.id)
        if stored is None:
            raise NotFound("user")
        await self._users.put(user.id, replace(stored, **copy.deepcopy(changed)))
        self._as_stored[user.id] = copy.deepcopy(user)

    def _loaded(self, user: User) -> User:
        self._as_stored[user.id] = copy.deepcopy(user)
        return copy.deepcopy(user)

    async def delete(self, user_id: UUID) -> None:
        await self._users.delete(user_id)
        doomed = {s.id for s in self._transaction.sessions.rows() if s.user_id == user_id}
        await _delete_sessions(self._transaction, doomed)
        # As the foreign key's ON DELETE CASCADE does.
        tokens = self._transaction.one_time_tokens
        for token in tokens.rows():
            if token.user_id == user_id:
                await tokens.delete(token.id)
        await self._transaction.totp_factors.delete(user_id)
        for code in self._transaction.recovery_codes.rows():
            if code.user_id == user_id:
                await self._transaction.recovery_codes.delete(code.id)
        for challenge in self._transaction.mfa_challenges.rows():
            if challenge.user_id == user_id:
                await self._transaction.mfa_challenges.delete(challenge.id)
        await _delete_codes_and_grants(self._transaction, lambda row: row.user_id == user_id)

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
            (u for u in self._users.rows() if matches(u)), key=lambda u: (u.created_at, u.id)
        )
        return copy.deepcopy(found[:limit])

    async def lock_active_admins(self) -> set[UUID]:
        return {user.id for user in await self._users.lock_where(_is_active_admin)}

    async def active_admins(self) -> set[UUID]:
        return {user.id for user in self._users.rows() if _is_active_admin(user)}

    async def _refuse_taken_email(self, user: User) -> None:
        # As the unique index does: a second writer of one address waits for the first to end.
        await self._transaction.lock(("users.email", user.email))
        if any(o.email == user.email and o.id != user.id for o in self._users.rows()):
            raise EmailAlreadyRegistered()


class InMemorySessionRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._sessions = transaction.sessions
        self._rotated = transaction.rotated_refresh_tokens

    async def add(self, session: Session) -> None:
        await self._sessions.put(session.id, copy.deepcopy(session))

    async def revoke(self, scope: SessionScope, now: datetime) -> int:
        revoked = await self._sessions.lock_where(scope.includes)
        for session in revoked:
            await self._sessions.put(session.id, replace(session, revoked_at=now))
        return len(revoked)

    async def revoke_of_client(self, user_id: UUID, client_id: str, now: datetime) -> int:
        revoked = await self._sessions.lock_where(
            lambda s: s.user_id == user_id and s.client_id == client_id and s.revoked_at is None
        )
        for session in revoked:
            await self._sessions.put(session.id, replace(session, revoked_at=now))
        return len(revoked)

    async def rotate_refresh_token(
        self,
        presented_hash: str,
        new_hash: str,
        now: datetime,
        kind: SessionKind = SessionKind.API,
    ) -> Session | None:
        found = await self._sessions.lock_where(
            lambda s: (
                s.refresh_token_hash == presented_hash
                and s.kind is kind
                and self._is_usable(s, now)
            )
        )
        if not found:
            return None
        session = copy.deepcopy(found[0])
        session.rotate(new_hash, now)
        await self._sessions.put(session.id, session)
        await self._rotated.put(presented_hash, session.id)
        return copy.deepcopy(session)

    async def find_usable_by_token(
        self, token_hash: str, kind: SessionKind, now: datetime
    ) -> Session | None:
        for session in self._sessions.rows():
            if session.refresh_token_hash == token_hash and session.kind is kind:
                return copy.deepcopy(session) if self._is_usable(session, now) else None
        return None

    async def find_usable_oauth_session(self, session_id: UUID, now: datetime) -> Session | None:
        session = self._sessions.get(session_id)
        if session is None or session.kind is not SessionKind.OAUTH:
            return None
        return copy.deepcopy(session) if self._is_usable(session, now) else None

    def _is_usable(self, session: Session, now: datetime) -> bool:
        parent_id = session.parent_session_id
        parent = self._sessions.get(parent_id) if parent_id is not None else None
        return session.is_usable_under(parent, now)

    async def find_by_rotated_token(self, token_hash: str) -> Session | None:
        session_id = self._rotated.get(token_hash)
        session = self._sessions.get(session_id) if session_id is not None else None
        return copy.deepcopy(session) if session else None

    async def list_usable_of_user(self, user_id: UUID, now: datetime) -> list[Session]:
        usable = [
            s for s in self._sessions.rows() if s.user_id == user_id and self._is_usable(s, now)
        ]
        # As the SQL adapter orders them: newest first, ties by ascending id.
        usable.sort(key=lambda s: s.id)
        usable.sort(key=lambda s: s.created_at, reverse=True)
        return copy.deepcopy(usable)

    async def prune(self, *, expired_before: datetime, revoked_before: datetime) -> int:
        doomed = {
            s.id
            for s in self._sessions.rows()
            if s.expires_at <= expired_before
            or (s.revoked_at is not None and s.revoked_at <= revoked_before)
        }
        await _delete_sessions(self._transaction, doomed)
        return len(doomed)


async def _delete_sessions(transaction: Transaction, doomed: set[UUID]) -> None:
    """Delete sessions and, as the foreign keys' ON DELETE actions do, the sessions living
    within them, their rotated tokens and the codes authorized in them; a code that opened one
    forgets it."""
    children = {s.id for s in transaction.sessions.rows() if s.parent_session_id in doomed}
    if children - doomed:
        await _delete_sessions(transaction, children - doomed)
    for session_id in doomed:
        await transaction.sessions.delete(session_id)
    for token, owner in transaction.rotated_refresh_tokens.items():
        if owner in doomed:
            await transaction.rotated_refresh_tokens.delete(token)
    for code in transaction.oauth_codes.rows():
        if code.browser_session_id in doomed:
            await transaction.oauth_codes.delete(code.id)
        elif code.issued_session_id in doomed:
            await transaction.oauth_codes.put(code.id, replace(code, issued_session_id=None))


async def _delete_codes_and_grants(
    transaction: Transaction, owned: Callable[[AuthorizationCode | Grant], bool]
) -> None:
    """As the foreign keys from codes and grants to their account and client cascade."""
    for code in transaction.oauth_codes.rows():
        if owned(code):
            await transaction.oauth_codes.delete(code.id)
    for grant in transaction.oauth_grants.rows():
        if owned(grant):
            await transaction.oauth_grants.delete((grant.user_id, grant.client_id))


class InMemorySigningKeyRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._keys = transaction.signing_keys

    async def list(self) -> list[SigningKey]:
        keys = sorted(self._keys.rows(), key=lambda k: (k.created_at, k.kid))
        return [copy.deepcopy(key) for key in reversed(keys)]

    async def add(self, key: SigningKey) -> None:
        await self._keys.put(key.kid, copy.deepcopy(key))

    async def save(self, key: SigningKey) -> None:
        if await self._keys.locked(key.kid) is not None:
            await self._keys.put(key.kid, copy.deepcopy(key))


class InMemoryOneTimeTokenRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._tokens = transaction.one_time_tokens

    async def add(self, token: OneTimeToken) -> None:
        await self._transaction.lock(("one_time_tokens.token_hash", token.token_hash))
        if any(t.token_hash == token.token_hash for t in self._tokens.rows()):
            raise ValueError("duplicate token hash")
        await self._tokens.put(token.id, copy.deepcopy(token))

    async def find_usable(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> OneTimeToken | None:
        for token in self._tokens.rows():
            if token.token_hash == token_hash and token.purpose == purpose and token.is_usable(now):
                return copy.deepcopy(token)
        return None

    async def consume(self, token_id: UUID, now: datetime) -> bool:
        token = await self._tokens.locked(token_id)
        if token is None or not token.is_usable(now):
            return False
        await self._tokens.put(token_id, replace(token, used_at=now))
        return True

    async def invalidate_unused(self, user_id: UUID, purpose: TokenPurpose, now: datetime) -> int:
        unused = await self._tokens.lock_where(
            lambda t: t.user_id == user_id and t.purpose == purpose and t.used_at is None
        )
        for token in unused:
            await self._tokens.put(token.id, replace(token, used_at=now))
        return len(unused)

    async def count_created_since(
        self, user_id: UUID, purpose: TokenPurpose, since: datetime
    ) -> int:
        return sum(
            1
            for t in self._tokens.rows()
            if t.user_id == user_id and t.purpose == purpose and t.created_at >= since
        )


class InMemoryInvitationRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._invitations = transaction.invitations

    async def add(self, invitation: Invitation) -> None:
        await self._transaction.lock(("invitations.token_hash", invitation.token_hash))
        if any(i.token_hash == invitation.token_hash for i in self._invitations.rows()):
            raise ValueError("duplicate token hash")
        await self._invitations.put(invitation.id, copy.deepcopy(invitation))

    async def find_usable(self, token_hash: str, now: datetime) -> Invitation | None:
        for invitation in self._invitations.rows():
            if invitation.token_hash == token_hash and invitation.is_usable(now):
                return copy.deepcopy(invitation)
        return None

    async def accept(self, invitation_id: UUID, now: datetime) -> bool:
        invitation = await self._invitations.locked(invitation_id)
        if invitation is None or not invitation.is_usable(now):
            return False
        await self._invitations.put(invitation_id, replace(invitation, accepted_at=now))
        return True

    async def withdraw_pending(self, email: Email) -> int:
        pending = await self._invitations.lock_where(
            lambda i: i.email == email and i.accepted_at is None
        )
        for invitation in pending:
            await self._invitations.delete(invitation.id)
        return len(pending)


class InMemoryOutbox:
    """A message's claim is a column of its row in the table; here it is a row of its own,
    written only by whoever holds the message's row lock."""

    def __init__(self, transaction: Transaction) -> None:
        self._messages = transaction.outbox
        self._claims = transaction.outbox_claims

    async def add(self, message: OutboxMessage) -> None:
        await self._messages.put(message.id, copy.deepcopy(message))

    async def claim_due(
        self, now: datetime, *, claimant: str, lease: timedelta, limit: int
    ) -> list[OutboxMessage]:
        def claimable(message: OutboxMessage) -> bool:
            claim = self._claims.get(message.id)
            return (
                message.sent_at is None
                and message.failed_at is None
                and message.next_attempt_at <= now
                and (claim is None or claim[1] < now)
            )

        due = await self._messages.lock_where(claimable)
        claimed = sorted(due, key=lambda m: m.next_attempt_at)[:limit]
        for message in claimed:
            await self._claims.put(message.id, (claimant, now + lease))
        return copy.deepcopy(claimed)

    async def mark_sent(self, message_id: UUID, claimant: str, now: datetime) -> None:
        for message in await self._claimed(message_id, claimant):
            await self._messages.put(
                message_id, replace(message, sent_at=now, attempts=message.attempts + 1)
            )
            await self._claims.delete(message_id)

    async def mark_failed(
        self,
        message_id: UUID,
        claimant: str,
        *,
        error: str,
        next_attempt_at: datetime,
        give_up_at: datetime | None,
    ) -> None:
        for message in await self._claimed(message_id, claimant):
            failed = replace(
                message,
                attempts=message.attempts + 1,
                next_attempt_at=next_attempt_at,
                failed_at=give_up_at,
                last_error=error,
            )
            await self._messages.put(message_id, failed)
            await self._claims.delete(message_id)

    async def _claimed(self, message_id: UUID, claimant: str) -> list[OutboxMessage]:
        """The message, locked, if the claimant holds its claim; else nothing."""

        def held(message: OutboxMessage) -> bool:
            claim = self._claims.get(message.id)
            return message.id == message_id and claim is not None and claim[0] == claimant

        return await self._messages.lock_where(held)


class InMemoryAuditLog:
    """As the table keeps events: the id is a primary key and `data` is a JSON column, so it
    must be JSON (no UUID or datetime objects) and comes back as JSON (tuples as lists).
    `unavailable` stands for the database failing on this insert."""

    def __init__(self, transaction: Transaction, *, unavailable: bool = False) -> None:
        self._events = transaction.audit_events
        self._unavailable = unavailable

    async def record(self, event: AuditEvent) -> None:
        if self._unavailable:
            raise StorageUnavailable()
        if await self._events.locked(event.id) is not None:
            raise ValueError("duplicate audit event id")
        data = json.loads(json.dumps(event.data))
        await self._events.put(event.id, replace(event, data=data))

    async def list_page(
        self,
        *,
        user_id: UUID | None,
        type: AuditEventType | None,
        before: Position | None,
        limit: int,
    ) -> list[AuditEvent]:
        events = sorted(self._events.rows(), key=lambda e: (e.created_at, e.id), reverse=True)
        page = [
            e
            for e in events
            if (user_id is None or e.user_id == user_id)
            and (type is None or e.type == type)
            and (before is None or (e.created_at, e.id) < (before.created_at, before.id))
        ][:limit]
        return copy.deepcopy(page)


class InMemoryLoginFailureCounter:
    def __init__(self, transaction: Transaction) -> None:
        self._failures = transaction.login_failures

    async def get(self, key: str) -> FailedLogins | None:
        return self._failures.get(key)

    async def record_failure(
        self, key: str, now: datetime, policy: LoginThrottlePolicy
    ) -> FailedLogins:
        record = policy.after_failure(await self._failures.locked(key), key, now)
        await self._failures.put(key, record)
        return record

    async def clear(self, key: str) -> None:
        await self._failures.delete(key)


class InMemoryTotpFactorRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._factors = transaction.totp_factors

    async def get(self, user_id: UUID) -> TotpFactor | None:
        return copy.deepcopy(self._factors.get(user_id))

    async def put_pending(self, factor: TotpFactor) -> None:
        current = await self._factors.locked(factor.user_id)
        if current is not None and current.is_enabled:
            raise MfaAlreadyEnabled()
        await self._factors.put(factor.user_id, replace(factor, confirmed_at=None, last_step=None))

    async def confirm(self, factor: TotpFactor, step: int, now: datetime) -> bool:
        current = await self._factors.locked(factor.user_id)
        if current is None or current.is_enabled or current.created_at != factor.created_at:
            return False
        await self._factors.put(factor.user_id, replace(current, confirmed_at=now, last_step=step))
        return True

    async def accept_step(self, user_id: UUID, step: int) -> bool:
        current = await self._factors.locked(user_id)
        if current is None or not current.is_enabled or not current.accepts_step(step):
            return False
        await self._factors.put(user_id, replace(current, last_step=step))
        return True

    async def delete(self, user_id: UUID) -> None:
        await self._factors.delete(user_id)


class InMemoryRecoveryCodeRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._codes = transaction.recovery_codes

    async def replace(self, user_id: UUID, codes: list[RecoveryCode]) -> None:
        await self.delete_all(user_id)
        for code in codes:
            await self._codes.put(code.id, code)

    async def unused(self, user_id: UUID) -> list[RecoveryCode]:
        return [c for c in self._codes.rows() if c.user_id == user_id and c.used_at is None]

    async def use(self, code_id: UUID, now: datetime) -> bool:
        code = await self._codes.locked(code_id)
        if code is None or code.used_at is not None:
            return False
        await self._codes.put(code_id, replace(code, used_at=now))
        return True

    async def delete_all(self, user_id: UUID) -> None:
        for code in self._codes.rows():
            if code.user_id == user_id:
                await self._codes.delete(code.id)


class InMemoryMfaChallengeRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._challenges = transaction.mfa_challenges

    async def add(self, challenge: MfaChallenge) -> None:
        await self._challenges.put(challenge.id, copy.deepcopy(challenge))

    async def find(self, token_hash: str) -> MfaChallenge | None:
        for challenge in self._challenges.rows():
            if challenge.token_hash == token_hash:
                return copy.deepcopy(challenge)
        return None

    async def record_wrong_code(self, challenge_id: UUID) -> None:
        challenge = await self._open(challenge_id)
        if challenge is not None:
            await self._challenges.put(
                challenge_id, replace(challenge, failures=challenge.failures + 1)
            )

    async def spend(self, challenge_id: UUID, now: datetime) -> bool:
        challenge = await self._open(challenge_id)
        if challenge is None:
            return False
        await self._challenges.put(challenge_id, replace(challenge, spent_at=now))
        return True

    async def prune(self, *, expired_before: datetime) -> int:
        doomed = [c.id for c in self._challenges.rows() if c.expires_at <= expired_before]
        for challenge_id in doomed:
            await self._challenges.delete(challenge_id)
        return len(doomed)

    async def _open(self, challenge_id: UUID) -> MfaChallenge | None:
        challenge = await self._challenges.locked(challenge_id)
        if challenge is None or challenge.spent_at is not None:
            return None
        return challenge if challenge.failures < MAX_WRONG_CODES else None


class InMemoryPasskeyRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._passkeys = transaction.passkeys

    async def add(self, passkey: Passkey) -> None:
        # The unique index on credential_id: a second writer of the same id waits for the
        # first, then finds it taken.
        await self._transaction.lock(("passkeys.credential_id", passkey.credential_id))
        if any(p.credential_id == passkey.credential_id for p in self._passkeys.rows()):
            raise PasskeyAlreadyRegistered()
        await self._passkeys.put(passkey.id, copy.deepcopy(passkey))

    async def get(self, passkey_id: UUID) -> Passkey | None:
        return copy.deepcopy(self._passkeys.get(passkey_id))

    async def find_by_credential_id(self, credential_id: bytes) -> Passkey | None:
        for passkey in self._passkeys.rows():
            if passkey.credential_id == credential_id:
                return copy.deepcopy(passkey)
        return None

    async def list_of_user(self, user_id: UUID) -> list[Passkey]:
        found = [p for p in self._passkeys.rows() if p.user_id == user_id]
        return [copy.deepcopy(p) for p in sorted(found, key=lambda p: (p.created_at, p.id))]

    async def save(self, passkey: Passkey) -> None:
        stored = await self._passkeys.locked(passkey.id)
        if stored is not None:
            await self._passkeys.put(passkey.id, replace(stored, name=passkey.name))

    async def record_use(
        self, passkey_id: UUID, sign_count: int, backed_up: bool, now: datetime
    ) -> bool:
        stored = await self._passkeys.locked(passkey_id)
        if stored is None or not sign_count_is_acceptable(stored.sign_count, sign_count):
            return False
        await self._passkeys.put(
            passkey_id,
            replace(stored, sign_count=sign_count, backed_up=backed_up, last_used_at=now),
        )
        return True

    async def delete(self, passkey_id: UUID) -> None:
        await self._passkeys.delete(passkey_id)


class InMemoryWebAuthnChallengeRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._challenges = transaction.webauthn_challenges

    async def add(self, challenge: WebAuthnChallenge) -> None:
        await self._challenges.put(challenge.id, challenge)

    async def spend(
        self, challenge_id: UUID, purpose: ChallengePurpose, now: datetime
    ) -> WebAuthnChallenge | None:
        challenge = await self._challenges.locked(challenge_id)
        if challenge is None or challenge.purpose != purpose or not challenge.is_usable(now):
            return None
        spent = replace(challenge, spent_at=now)
        await self._challenges.put(challenge_id, spent)
        return spent

    async def prune(self, *, expired_before: datetime) -> int:
        doomed = [c.id for c in self._challenges.rows() if c.expires_at <= expired_before]
        for challenge_id in doomed:
            await self._challenges.delete(challenge_id)
        return len(doomed)


class InMemoryOAuthClientRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._clients = transaction.oauth_clients

    async def add(self, client: OAuthClient) -> None:
        if await self._clients.locked(client.client_id) is not None:
            raise ValueError("duplicate client id")
        await self._clients.put(client.client_id, copy.deepcopy(client))

    async def get(self, client_id: str) -> OAuthClient | None:
        return copy.deepcopy(self._clients.get(client_id))

    async def save(self, client: OAuthClient) -> None:
        stored = await self._clients.locked(client.client_id)
        if stored is not None:
            edited = replace(
                stored,
                name=client.name,
                redirect_uris=client.redirect_uris,
                post_logout_redirect_uris=client.post_logout_redirect_uris,
                first_party=client.first_party,
                id_token_signed_response_alg=client.id_token_signed_response_alg,
                updated_at=client.updated_at,
            )
            await self._clients.put(client.client_id, edited)

    async def save_secret(self, client: OAuthClient) -> None:
        stored = await self._clients.locked(client.client_id)
        if stored is not None:
            renewed = replace(stored, secret_hash=client.secret_hash, updated_at=client.updated_at)
            await self._clients.put(client.client_id, renewed)

    async def delete(self, client_id: str) -> None:
        await self._clients.delete(client_id)
        # As the foreign key's ON DELETE CASCADE does.
        doomed = {s.id for s in self._transaction.sessions.rows() if s.client_id == client_id}
        await _delete_sessions(self._transaction, doomed)
        await _delete_codes_and_grants(self._transaction, lambda row: row.client_id == client_id)

    async def list(self) -> list[OAuthClient]:
        found = sorted(self._clients.rows(), key=lambda c: (c.created_at, c.client_id))
        return [copy.deepcopy(client) for client in found]


class InMemoryAuthorizationCodeRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._codes = transaction.oauth_codes

    async def add(self, code: AuthorizationCode) -> None:
        await self._transaction.lock(("oauth_codes.code_hash", code.code_hash))
        if any(c.code_hash == code.code_hash for c in self._codes.rows()):
            raise ValueError("duplicate code hash")
        await self._codes.put(code.id, copy.deepcopy(code))

    async def redeem(self, code_hash: str, now: datetime) -> AuthorizationCode | None:
        found = await self._codes.lock_where(
            lambda c: c.code_hash == code_hash and c.is_redeemable(now)
        )
        if not found:
            return None
        redeemed = replace(found[0], used_at=now)
        await self._codes.put(redeemed.id, redeemed)
        return copy.deepcopy(redeemed)

    async def find_spent(self, code_hash: str) -> AuthorizationCode | None:
        for code in self._codes.rows():
            if code.code_hash == code_hash and code.used_at is not None:
                return copy.deepcopy(code)
        return None

    async def record_issued_session(self, code_id: UUID, session_id: UUID) -> None:
        code = await self._codes.locked(code_id)
        if code is not None:
            await self._codes.put(code_id, replace(code, issued_session_id=session_id))

    async def prune(self, *, expired_before: datetime) -> int:
        doomed = [c.id for c in self._codes.rows() if c.expires_at <= expired_before]
        for code_id in doomed:
            await self._codes.delete(code_id)
        return len(doomed)


class InMemoryGrantRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._grants = transaction.oauth_grants

    async def get(self, user_id: UUID, client_id: str) -> Grant | None:
        return copy.deepcopy(self._grants.get((user_id, client_id)))

    async def upsert(self, grant: Grant) -> Grant:
        key = (grant.user_id, grant.client_id)
        stored = copy.deepcopy(await self._grants.locked(key))
        if stored is None:
            stored = copy.deepcopy(grant)
        else:
            stored.widen(grant.scopes, grant.updated_at)
        await self._grants.put(key, stored)
        return copy.deepcopy(stored)

    async def list_of_user(self, user_id: UUID) -> list[Grant]:
        found = [g for g in self._grants.rows() if g.user_id == user_id]
        return copy.deepcopy(sorted(found, key=lambda g: (g.created_at, g.client_id)))

    async def delete(self, user_id: UUID, client_id: str) -> bool:
        if await self._grants.locked((user_id, client_id)) is None:
            return False
        await self._grants.delete((user_id, client_id))
        return True


class InMemoryLinkedIdentityRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction
        self._identities = transaction.linked_identities

    async def find(self, provider: str, subject: str) -> LinkedIdentity | None:
        for identity in self._identities.rows():
            if (identity.provider, identity.subject) == (provider, subject):
                return copy.deepcopy(identity)
        return None

    async def add(self, identity: LinkedIdentity) -> None:
        # The unique index on (provider, subject): a second writer waits for the first, then
        # finds it taken.
        key = (identity.provider, identity.subject)
        await self._transaction.lock(("linked_identities.provider_subject", key))
        if any((i.provider, i.subject) == key for i in self._identities.rows()):
            raise IdentityAlreadyLinked()
        await self._identities.put(identity.id, copy.deepcopy(identity))

    async def save_email(self, identity: LinkedIdentity) -> None:
        stored = await self._identities.locked(identity.id)
        if stored is not None:
            await self._identities.put(identity.id, replace(stored, email=identity.email))

    async def list_of_user(self, user_id: UUID) -> list[LinkedIdentity]:
        found = [i for i in self._identities.rows() if i.user_id == user_id]
        return [copy.deepcopy(i) for i in sorted(found, key=lambda i: (i.created_at, i.id))]

    async def delete(self, user_id: UUID, identity_id: UUID) -> bool:
        stored = await self._identities.locked(identity_id)
        if stored is None or stored.user_id != user_id:
            return False
        await self._identities.delete(identity_id)
        return True


class InMemoryUpstreamSignInRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._sign_ins = transaction.upstream_sign_ins

    async def add(self, sign_in: UpstreamSignIn) -> None:
        await self._sign_ins.put(sign_in.id, copy.deepcopy(sign_in))

    async def redeem(self, state_hash: str, now: datetime) -> UpstreamSignIn | None:
        found = await self._sign_ins.lock_where(
            lambda s: s.state_hash == state_hash and s.is_usable(now)
        )
        if not found:
            return None
        redeemed = replace(found[0], used_at=now)
        await self._sign_ins.put(redeemed.id, redeemed)
        return copy.deepcopy(redeemed)

    async def prune(self, *, expired_before: datetime) -> int:
        expired = [s.id for s in self._sign_ins.rows() if s.expires_at < expired_before]
        for sign_in_id in expired:
            await self._sign_ins.delete(sign_in_id)
        return len(expired)


class InMemoryWebhookRepository:
    def __init__(self, transaction: Transaction) -> None:
        self._webhooks = transaction.webhooks
        self._deliveries = transaction.webhook_deliveries

    async def add(self, webhook: Webhook) -> None:
        if await self._webhooks.locked(webhook.id) is not None:
            raise ValueError("duplicate webhook id")
        await self._webhooks.put(webhook.id, copy.deepcopy(webhook))

    async def get(self, webhook_id: UUID) -> Webhook | None:
        return copy.deepcopy(self._webhooks.get(webhook_id))

    async def list(self) -> list[Webhook]:
        found = sorted(self._webhooks.rows(), key=lambda w: (w.created_at, w.id))
        return [copy.deepcopy(webhook) for webhook in found]

    async def save(self, webhook: Webhook) -> None:
        stored = await self._webhooks.locked(webhook.id)
        if stored is not None:
            edited = replace(
                stored,
                url=webhook.url,
                events=webhook.events,
                description=webhook.description,
                secret=webhook.secret,
                updated_at=webhook.updated_at,
            )
            await self._webhooks.put(webhook.id, edited)

    async def delete(self, webhook_id: UUID) -> bool:
        if await self._webhooks.locked(webhook_id) is None:
            return False
        await self._webhooks.delete(webhook_id)
        # As the foreign key's ON DELETE CASCADE does.
        for key, row in self._deliveries.items():
            if row.delivery.webhook_id == webhook_id:
                await self._deliveries.delete(key)
        return True


class InMemoryWebhookEventLog:
    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction

    async def record(self, event: WebhookEvent, *, to: UUID | None = None) -> list[WebhookDelivery]:
        transaction = self._transaction
        if await transaction.webhook_events.locked(event.id) is not None:
            raise ValueError("duplicate event id")
        await transaction.webhook_events.put(event.id, copy.deepcopy(event))
        endpoints = sorted(transaction.webhooks.rows(), key=lambda w: (w.created_at, w.id))
        fanned_out = [
            WebhookDelivery(
                id=uuid4(),
                webhook_id=webhook.id,
                event_id=event.id,
                user_id=event.user_id,
                type=event.type,
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=event.created_at,
                last_response_status=None,
                created_at=event.created_at,
            )
            for webhook in endpoints
            if webhook.id == to or (to is None and webhook.subscribes_to(event.type))
        ]
        for delivery in fanned_out:
            queued = QueuedDelivery(transaction.next_delivery_seq(), copy.deepcopy(delivery))
            await transaction.webhook_deliveries.put(delivery.id, queued)
        return fanned_out


class InMemoryDeliveryQueue:
    def __init__(self, transaction: Transaction) -> None:
        self._rows = transaction.webhook_deliveries

    async def claim(
        self, worker: str, now: datetime, lease: timedelta, limit: int
    ) -> list[WebhookDelivery]:
        def an_earlier_one_pending(row: QueuedDelivery) -> bool:
            return any(
                other.seq < row.seq
                and other.delivery.webhook_id == row.delivery.webhook_id
                and other.delivery.user_id == row.delivery.user_id
                and other.delivery.status is DeliveryStatus.PENDING
                for other in self._rows.rows()
            )

        def claimable(row: QueuedDelivery) -> bool:
            delivery = row.delivery
            return (
                delivery.status is DeliveryStatus.PENDING
                and delivery.next_attempt_at <= now
                and (row.claimed_until is None or row.claimed_until < now)
                and (delivery.user_id is None or not an_earlier_one_pending(row))
            )

        due = await self._rows.lock_where(claimable)
        claimed = sorted(due, key=lambda r: (r.delivery.next_attempt_at, r.seq))[:limit]
        for row in claimed:
            await self._rows.put(
                row.delivery.id, replace(row, claimed_by=worker, claimed_until=now + lease)
            )
        return [copy.deepcopy(row.delivery) for row in claimed]

    async def delivered(
        self, delivery_id: UUID, worker: str, status_code: int, now: datetime
    ) -> bool:
        return await self._settle(
            delivery_id,
            worker,
            lambda d: replace(d, status=DeliveryStatus.DELIVERED, last_response_status=status_code),
            finished_at=now,
        )

    async def retry(
        self, delivery_id: UUID, worker: str, status_code: int | None, next_attempt_at: datetime
    ) -> bool:
        return await self._settle(
            delivery_id,
            worker,
            lambda d: replace(d, last_response_status=status_code, next_attempt_at=next_attempt_at),
        )

    async def failed(
        self, delivery_id: UUID, worker: str, status_code: int | None, now: datetime
    ) -> bool:
        return await self._settle(
            delivery_id,
            worker,
            lambda d: replace(d, status=DeliveryStatus.FAILED, last_response_status=status_code),
            finished_at=now,
        )

    async def _settle(
        self,
        delivery_id: UUID,
        worker: str,
        change: Callable[[WebhookDelivery], WebhookDelivery],
        *,
        finished_at: datetime | None = None,
    ) -> bool:
        def held(row: QueuedDelivery) -> bool:
            return (
                row.delivery.id == delivery_id
                and row.claimed_by == worker
                and row.delivery.status is DeliveryStatus.PENDING
            )

        for row in await self._rows.lock_where(held):
            settled = change(replace(row.delivery, attempts=row.delivery.attempts + 1))
            await self._rows.put(
                delivery_id,
                replace(
                    row,
                    delivery=_in_utc(settled),
                    claimed_by=None,
                    claimed_until=None,
                    finished_at=finished_at,
                ),
            )
            return True
        return False

    async def list_of_webhook(
        self, webhook_id: UUID, *, before: Position | None, limit: int
    ) -> list[WebhookDelivery]:
        found = [
            row.delivery
            for row in self._rows.rows()
            if row.delivery.webhook_id == webhook_id
            and (
                before is None
                or (row.delivery.created_at, row.delivery.id) < (before.created_at, before.id)
            )
        ]
        found.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        return [copy.deepcopy(delivery) for delivery in found[:limit]]


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
    """One transaction over the shared store, kept row by row as a database keeps it. Reads
    see what is committed now plus this unit's own writes; commit() applies just the rows it
    wrote, and leaving the block without it drops them, so units of work writing other rows
    never undo each other. A row written (or read to be written) stays locked until the unit
    commits or leaves: a second writer of that row, or of the same email, waits for the first
    and then sees the row as the first left it, as PostgreSQL's row locks and unique indexes
    make it wait. Last-writer-wins per row would not do: a rename committed after an admin's
    deactivation of the same user would write back the row it wrote before, undoing it, and
    two registrations of one email would both get in."""

    users: UserRepository
    sessions: SessionRepository
    signing_keys: SigningKeyRepository
    one_time_tokens: OneTimeTokenRepository
    invitations: InvitationRepository
    outbox: Outbox
    audit: AuditLog
    login_failures: LoginFailureCounter
    totp: TotpFactorRepository
    recovery_codes: RecoveryCodeRepository
    mfa_challenges: MfaChallengeRepository
    passkeys: PasskeyRepository
    webauthn_challenges: WebAuthnChallengeRepository
    oauth_clients: OAuthClientRepository
    oauth_codes: AuthorizationCodeRepository
    oauth_grants: GrantRepository
    linked_identities: LinkedIdentityRepository
    upstream_sign_ins: UpstreamSignInRepository
    webhooks: WebhookRepository
    webhook_events: WebhookEventLog
    webhook_deliveries: DeliveryQueue

    def __init__(
        self, store: InMemoryStore, locks: RowLocks, *, audit_unavailable: bool = False
    ) -> None:
        self._store = store
        self._locks = locks
        self._audit_unavailable = audit_unavailable
        self._transaction: Transaction | None = None
        self.committed = False

    async def __aenter__(self) -> Self:
        transaction = self._transaction = Transaction(self._store, self._locks)
        self.users = InMemoryUserRepository(transaction)
        self.sessions = InMemorySessionRepository(transaction)
        self.signing_keys = InMemorySigningKeyRepository(transaction)
        self.one_time_tokens = InMemoryOneTimeTokenRepository(transaction)
        self.invitations = InMemoryInvitationRepository(transaction)
        self.outbox = InMemoryOutbox(transaction)
        self.audit = InMemoryAuditLog(transaction, unavailable=self._audit_unavailable)
        self.login_failures = InMemoryLoginFailureCounter(transaction)
        self.totp = InMemoryTotpFactorRepository(transaction)
        self.recovery_codes = InMemoryRecoveryCodeRepository(transaction)
        self.mfa_challenges = InMemoryMfaChallengeRepository(transaction)
        self.passkeys = InMemoryPasskeyRepository(transaction)
        self.webauthn_challenges = InMemoryWebAuthnChallengeRepository(transaction)
        self.oauth_clients = InMemoryOAuthClientRepository(transaction)
        self.oauth_codes = InMemoryAuthorizationCodeRepository(transaction)
        self.oauth_grants = InMemoryGrantRepository(transaction)
        self.linked_identities = InMemoryLinkedIdentityRepository(transaction)
        self.upstream_sign_ins = InMemoryUpstreamSignInRepository(transaction)
        self.webhooks = InMemoryWebhookRepository(transaction)
        self.webhook_events = InMemoryWebhookEventLog(transaction)
        self.webhook_deliveries = InMemoryDeliveryQueue(transaction)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._transaction is not None:
            self._transaction.end(commit=False)
            self._transaction = None

    async def commit(self) -> None:
        if self._transaction is None:
            raise RuntimeError("commit() outside the unit of work's block")
        self._transaction.end(commit=True)
        self.committed = True


class FakeUnitOfWorkFactory:
    """The store and its row locks stand for one database. `audit_unavailable` makes every
    audit insert fail, as a database failing mid-transaction would: what the transaction
    changed before it must be rolled back with it."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()
        self.opened: list[FakeUnitOfWork] = []
        self.audit_unavailable = False
        self.locks: RowLocks = defaultdict(asyncio.Lock)

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.store, self.locks, audit_unavailable=self.audit_unavailable)
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


class InMemoryIntrospectionReader:
    """Reads the store as it stands, with the rule of SqlIntrospectionReader."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def read(
        self, asking_client_id: str, session: OAuthSessionOfToken, now: datetime
    ) -> IntrospectionFacts:
        client = self._store.oauth_clients.get(asking_client_id)
        if client is None:
            return IntrospectionFacts(client=None, session_live=False)
        found = self._store.sessions.get(session.session_id)
        live = (
            found is not None
            and found.kind is SessionKind.OAUTH
            and found.user_id == session.user_id
            and found.client_id == session.client_id
            and found.is_usable_under(
                self._store.sessions.get(found.parent_session_id)
                if found.parent_session_id
                else None,
                now,
            )
        )
        user = self._store.users.get(session.user_id)
        return IntrospectionFacts(
            client=copy.deepcopy(client), session_live=live and user is not None and user.is_active
        )


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


class FakeIdTokens:
    """ID tokens are opaque handles to the claims and the algorithm they were signed with."""

    def __init__(self) -> None:
        self.signed: dict[str, tuple[IdTokenClaims, IdTokenAlgorithm]] = {}

    async def sign(self, claims: IdTokenClaims, algorithm: IdTokenAlgorithm) -> str:
        token = f"id-token-{len(self.signed) + 1}"
        self.signed[token] = (claims, algorithm)
        return token

    async def verify_hint(self, token: str) -> IdTokenHint | None:
        signed = self.signed.get(token)
        if signed is None:
            return None
        claims = signed[0]
        return IdTokenHint(claims.subject, claims.client_id, claims.session_id)


class FakeOAuthAccessTokens:
    """Tokens are handles to the claims they were issued with, shaped as a JWS in compact form
    (three parts joined by dots) as the real ones are: what a client hands back is told apart
    by that shape."""

    def __init__(self, clock: FixedClock) -> None:
        self._clock = clock
        self.issued: dict[str, OAuthAccessTokenClaims] = {}

    async def issue(self, claims: OAuthAccessTokenClaims) -> str:
        token = f"fake.oauth-token-{len(self.issued) + 1}.signature"
        self.issued[token] = claims
        return token

    async def verify(self, token: str) -> OAuthAccessTokenClaims:
        claims = self.issued.get(token)
        if claims is None or claims.expires_at <= self._clock.now():
            raise InvalidAccessToken()
        return claims


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
        self.authorization_code_reuses = 0

    def login(self, outcome: LoginOutcome) -> None:
        self.logins.append(outcome)

    def refresh_token_reused(self) -> None:
        self.refresh_token_reuses += 1

    def authorization_code_reused(self) -> None:
        self.authorization_code_reuses += 1


class FakeUpstreamProviders:
    """Providers that behave as a real one does at its edges: a code is good once, for the
    redirect URI and PKCE challenge of the authorization request it answered, and the identity
    it names comes back with that request's nonce checked. `sign_in_at_provider` stands for the
    person signing in there. `failure`, when set, is how the provider fails next."""

    def __init__(self, *providers: UpstreamProvider) -> None:
        self._providers = {provider.id: provider for provider in providers}
        self.requests: dict[str, UpstreamAuthorization] = {}  # by state
        self._codes: dict[str, tuple[UpstreamAuthorization, UpstreamIdentity]] = {}
        self.failure: UpstreamFailure | None = None

    def configured(self) -> Sequence[UpstreamProvider]:
        return list(self._providers.values())

    def get(self, provider_id: str) -> UpstreamProvider | None:
        return self._providers.get(provider_id)

    async def authorization_url(self, request: UpstreamAuthorization) -> str:
        self._fail_if_asked()
        self.requests[request.state] = request
        return f"https://{request.provider_id}.example.com/authorize?state={request.state}"

    def sign_in_at_provider(self, state: str, identity: UpstreamIdentity) -> str:
        """The code the provider sends the browser back with."""
        code = f"code-{len(self._codes) + 1}"
        self._codes[code] = (self.requests[state], identity)
        return code

    async def identity(
        self,
        provider_id: str,
        *,
        code: str,
        code_verifier: str,
        redirect_uri: str,
        nonce: str,
    ) -> UpstreamIdentity:
        self._fail_if_asked()
        request, identity = self._codes.pop(code, (None, None))
        if (
            request is None
            or identity is None
            or request.provider_id != provider_id
            or request.redirect_uri != redirect_uri
            or request.code_challenge != s256_challenge(code_verifier)
        ):
            raise UpstreamSignInFailed(UpstreamFailure.TOKEN_REFUSED)
        if request.nonce != nonce:
            raise UpstreamSignInFailed(UpstreamFailure.INVALID_ID_TOKEN)
        return identity

    def _fail_if_asked(self) -> None:
        failure, self.failure = self.failure, None
        if failure is not None:
            raise UpstreamSignInFailed(failure)


class FakeWebhookTargets:
    """Refuses the hosts in `unsafe`, and plain http, as the resolving adapter refuses private
    addresses; remembers every url it was asked about."""

    def __init__(self, unsafe: Sequence[str] = ("internal.example",)) -> None:
        self.unsafe = set(unsafe)
        self.checked: list[str] = []

    async def check(self, url: str) -> None:
        self.checked.append(url)
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise UnsafeWebhookTarget("https only")
        if parts.hostname in self.unsafe:
            raise UnsafeWebhookTarget(f"{parts.hostname} resolves to a private address")

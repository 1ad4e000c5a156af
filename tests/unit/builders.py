"""Data builders for the unit tests: accounts and sessions put straight into the in-memory
store, as if earlier requests had made them, plus small readers of what the store now holds."""

from __future__ import annotations

import copy
import hashlib
import re
from datetime import datetime, timedelta
from typing import TypedDict
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

from application.caller import Caller, Principal
from application.outbox import OutboxMessage
from application.ports.mail import MailMessage
from application.ports.security import AccessTokenClaims
from application.secret_tokens import hash_secret_token, new_secret_token
from application.tokens import TokenLifetimes
from domain.audit_event import AuditEvent, AuditEventType
from domain.auth_method import PASSWORD_ONLY, AuthMethods
from domain.email import Email
from domain.login_throttle import LoginThrottlePolicy
from domain.one_time_token import OneTimeToken, TokenPurpose
from domain.role import Role
from domain.session import Session
from domain.user import User
from tests.fakes import (
    FakeAccessTokens,
    FakePasswordHasher,
    FixedClock,
    InMemoryStore,
    SequentialIds,
)

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"
# The real list is lower-cased (adapters/security/common_passwords.py); this one is too.
COMMON_PASSWORDS = frozenset({"password", "password1", "12345678", "qwertyuiop", "iloveyou"})
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)
LIFETIMES = TokenLifetimes(access=ACCESS_TTL, refresh=REFRESH_TTL)
# With a path and a trailing slash, as an operator behind a proxy might set it.
PUBLIC_URL = "https://example.org/auth/"
LINK_BASE = "https://example.org/auth"
# Where a request came from, as the HTTP layer hands it to a use case.
CALLER = Caller(ip="203.0.113.7", user_agent="admin-console/1.0")


THROTTLE = LoginThrottlePolicy(max_failures=10, window=timedelta(minutes=15))


class ProfileChange(TypedDict, total=False):
    """The fields of an UpdateProfileCommand a test changes."""

    name: str
    email: str


class Accounts:
    """Seeds the store directly, so a test's setup spends no hasher verification and no commit."""

    def __init__(
        self,
        store: InMemoryStore,
        hasher: FakePasswordHasher,
        tokens: FakeAccessTokens,
        clock: FixedClock,
        ids: SequentialIds,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._ids = ids

    async def user(
        self,
        email: str = "eve@example.com",
        *,
        password: str = PASSWORD,
        password_hash: str | None = None,
        name: str | None = None,
        role: Role = Role.USER,
        is_active: bool = True,
        is_verified: bool = False,
        created_at: datetime | None = None,
    ) -> User:
        now = created_at or self._clock.now()
        user = User(
            id=self._ids.new_id(),
            email=Email.parse(email),
            password_hash=password_hash or await self._hasher.hash(password),
            name=name,
            role=role,
            is_active=is_active,
            is_verified=is_verified,
            created_at=now,
            updated_at=now,
        )
        self._store.users[user.id] = copy.deepcopy(user)
        return user

    def session(self, user: User, *, lifetime: timedelta = REFRESH_TTL) -> Session:
        session, _ = self.session_with_refresh_token(user, lifetime=lifetime)
        return session

    def session_with_refresh_token(
        self, user: User, *, lifetime: timedelta = REFRESH_TTL, amr: AuthMethods = PASSWORD_ONLY
    ) -> tuple[Session, str]:
        """A session opened now, and the refresh token its device holds."""
        now = self._clock.now()
        refresh_token = new_secret_token()
        session = Session(
            id=self._ids.new_id(),
            user_id=user.id,
            refresh_token_hash=hash_secret_token(refresh_token),
            created_at=now,
            last_used_at=now,
            expires_at=now + lifetime,
            user_agent="pytest",
            ip="192.0.2.1",
            amr=amr,
        )
        self._store.sessions[session.id] = copy.deepcopy(session)
        return session, refresh_token

    def signed_in(self, user: User, session: Session | None = None) -> Principal:
        """The principal Authenticate makes of an access token of this session. Without one,
        the principal names a session the store does not hold: for the use cases that never
        look at the caller's session, a test need not seed one (nor find it among the user's)."""
        return Principal(user=user, session_id=session.id if session else self._ids.new_id())

    def revoked_session(self, user: User) -> Session:
        """A session opened and revoked now, as a logout would have left it."""
        session = self.session(user)
        session.revoke(self._clock.now())
        self._store.sessions[session.id] = copy.deepcopy(session)
        return session

    async def access_token(self, user: User, session: Session) -> str:
        """A well-formed token for this session, as LogIn would have issued it."""
        now = self._clock.now()
        claims = AccessTokenClaims(
            subject=user.id,
            session_id=session.id,
            token_id=self._ids.new_id(),
            role=user.role,
            issued_at=now,
            expires_at=now + ACCESS_TTL,
            amr=session.amr,
        )
        return await self._tokens.issue(claims)


class AuditTrail:
    """Seeds audit events straight into the store, as if earlier requests had recorded them."""

    def __init__(self, store: InMemoryStore, clock: FixedClock, ids: SequentialIds) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids

    def event(
        self,
        type: AuditEventType = AuditEventType.LOGIN_SUCCEEDED,
        *,
        user_id: UUID | None = None,
        created_at: datetime | None = None,
    ) -> AuditEvent:
        event = AuditEvent(
            id=self._ids.new_id(),
            type=type,
            created_at=created_at or self._clock.now(),
            user_id=user_id,
            actor_id=user_id,
        )
        self._store.audit_events[event.id] = event
        return event


def recorded_events(store: InMemoryStore) -> list[AuditEvent]:
    """Every committed audit event, in the order it was recorded."""
    return list(store.audit_events.values())


def events_about(store: InMemoryStore, user_id: UUID) -> list[AuditEvent]:
    return [event for event in store.audit_events.values() if event.user_id == user_id]


def stored_user(store: InMemoryStore, user_id: UUID) -> User | None:
    return store.users.get(user_id)


def stored_sessions_of(store: InMemoryStore, user_id: UUID) -> list[Session]:
    return [session for session in store.sessions.values() if session.user_id == user_id]


def stored_session(store: InMemoryStore, session_id: UUID) -> Session:
    return store.sessions[session_id]


def is_revoked(store: InMemoryStore, session: Session) -> bool:
    return store.sessions[session.id].revoked_at is not None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def queued_mail(store: InMemoryStore) -> list[OutboxMessage]:
    """Every message in the outbox, in the order it was queued."""
    return sorted(store.outbox.values(), key=lambda m: (m.created_at, m.id))


def queued_mail_to(store: InMemoryStore, email: str) -> list[MailMessage]:
    return [item.message for item in queued_mail(store) if item.message.to == email]


def secret_in(message: MailMessage, page: str) -> str:
    """The token of the one `{PUBLIC_URL}/{page}?token=…` link in the text; checks the HTML
    carries the same link."""
    links: list[str] = re.findall(rf"{re.escape(LINK_BASE)}/{page}\?token=\S+", message.text)
    assert len(links) == 1, message.text
    [token] = parse_qs(urlsplit(links[0]).query, strict_parsing=True)["token"]
    assert f'href="{links[0]}"' in message.html
    return token


def stored_tokens_of(
    store: InMemoryStore, user_id: UUID, purpose: TokenPurpose
) -> list[OneTimeToken]:
    tokens = [t for t in store.one_time_tokens.values() if t.user_id == user_id]
    return sorted((t for t in tokens if t.purpose == purpose), key=lambda t: t.created_at)

"""The schema. Alembic's migrations and the repositories share this one MetaData."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    false,
    text,
)

from domain.auth_method import AuthMethod, AuthMethods
from domain.oauth_scope import Scope, Scopes, format_scope

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always gives them back aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    # SQLAlchemy's signature: every dialect's values are read back alike.
    def process_result_value(self, value: Any, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AuthMethodList(TypeDecorator[AuthMethods]):
    """A session's `amr` as its values separated by spaces ("pwd otp mfa")."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: AuthMethods | None, _dialect: Dialect) -> Any:
        return None if value is None else " ".join(method.value for method in value)

    def process_result_value(self, value: Any, _dialect: Dialect) -> AuthMethods | None:
        return None if value is None else tuple(AuthMethod(method) for method in value.split())


class ScopeList(TypeDecorator[Scopes]):
    """Granted scopes as OAuth writes them: their values separated by spaces, in one order."""

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: Scopes | None, _dialect: Dialect) -> Any:
        return None if value is None else format_scope(value)

    def process_result_value(self, value: Any, _dialect: Dialect) -> Scopes | None:
        return None if value is None else frozenset(Scope(scope) for scope in value.split())


users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    # Stored normalised (trimmed, lower-cased), so a plain unique index is case-insensitive.
    Column("email", String(254), nullable=False, unique=True),
    # None: an account made through an upstream provider, with no password yet.
    Column("password_hash", String(255), nullable=True),
    Column("name", String(100), nullable=True),
    Column("role", String(16), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("is_verified", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("mfa_enabled", Boolean, nullable=False, server_default=false()),
    # The admin list pages by (created_at, id); role and active state narrow it.
    Index(None, "created_at", "id"),
    Index(None, "role", "is_active"),
)
# Substring search over email and name (`q`): trigram indexes on PostgreSQL (pg_trgm, created by
# migration 0004); SQLite scans, which is fine at the sizes SQLite is for.
Index(
    "ix_users_email_trgm",
    users.c.email,
    postgresql_using="gin",
    postgresql_ops={"email": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")
Index(
    "ix_users_name_trgm", text("lower(name) gin_trgm_ops"), postgresql_using="gin", _table=users
).ddl_if(dialect="postgresql")

sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("refresh_token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("ip", String(45), nullable=True),
    Column("amr", AuthMethodList, nullable=False, server_default="pwd"),
    Column("kind", String(16), nullable=False, server_default="api"),
    # The OAuth client a session was issued to: deleting the client ends its sessions.
    Column(
        "client_id",
        String(64),
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("scope", ScopeList, nullable=True),
    # An OAuth session granted without offline_access lives within the browser session that
    # authorized it: it is usable only while that one is, and deleted with it.
    Column(
        "parent_session_id",
        Uuid,
        ForeignKey("sessions.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("auth_time", UtcDateTime, nullable=True),
    Index(None, "user_id"),
    Index(None, "client_id"),
    Index(None, "parent_session_id"),
)

# Every refresh token a session has traded away: presenting one again is a replay.
rotated_refresh_tokens = Table(
    "rotated_refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("rotated_at", UtcDateTime, nullable=False),
    Index(None, "session_id"),
)

one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("email", String(254), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Index(None, "user_id", "purpose", "created_at"),
)

# An invitation has no account yet, so no foreign key to users; `invited_by` names the admin
# without one too, as the audit trail does: the record outlives the admin's account.
invitations = Table(
    "invitations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(254), nullable=False),
    Column("role", String(16), nullable=False),
    Column("name", String(100), nullable=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("invited_by", Uuid, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("accepted_at", UtcDateTime, nullable=True),
    # A new invitation of an address withdraws the pending ones: found by address.
    Index(None, "email"),
)

outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("text_body", Text, nullable=False),
    Column("html_body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("failed_at", UtcDateTime, nullable=True),
    Column("last_error", String(500), nullable=True),
    # The dispatcher's question, "what is due and still pending?", is answered from this index.
    Index(None, "sent_at", "failed_at", "next_attempt_at"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("type", String(64), nullable=False),
    # No foreign keys: the trail outlives the accounts it speaks of.
    Column("user_id", Uuid, nullable=True),
    Column("actor_id", Uuid, nullable=True),
    Column("ip", String(45), nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("data", JSON, nullable=False),
    # Newest first: by account, by type, or all.
    Index(None, "user_id", "created_at", "id"),
    Index(None, "type", "created_at", "id"),
    Index(None, "created_at", "id"),
)

# Failed logins per account key (a hash of the normalised email, whether or not it has an
# account): shared by every replica, kept across restarts.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_started_at", UtcDateTime, nullable=False),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("private_key_pem", Text, nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime, nullable=True),
)

# An account's TOTP factor: pending until a first code confirms it. `last_step` is the newest
# 30-second step whose code was accepted; a code of that step or an earlier one is a replay.
totp_factors = Table(
    "totp_factors",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("secret", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("confirmed_at", UtcDateTime, nullable=True),
    Column("last_step", BigInteger, nullable=True),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Index(None, "user_id"),
)

# The second step of a login: who proved their password, until when, and how many wrong codes
# they have sent since. Only the token's hash is kept.
mfa_challenges = Table(
    "mfa_challenges",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("throttle_key", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("spent_at", UtcDateTime, nullable=True),
    Column("first_factor", AuthMethodList, nullable=False, server_default="pwd"),
    Index(None, "user_id"),
    Index(None, "expires_at"),
)

# An account's passkeys. `credential_id` is unique across accounts: an authenticator's id
# names one key, and a second account claiming it is refused at registration.
passkeys = Table(
    "passkeys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("credential_id", LargeBinary(1023), nullable=False, unique=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("name", String(100), nullable=False),
    Column("backed_up", Boolean, nullable=False),
    Column("transports", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Index(None, "user_id"),
)

# The challenge of each WebAuthn ceremony, spent by its first use. A sign-in's has no account.
webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("challenge", LargeBinary(64), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("spent_at", UtcDateTime, nullable=True),
    Index(None, "expires_at"),
)

# Applications registered to sign people in (OpenID Connect relying parties). The URIs are JSON
# lists, read and compared whole: a redirect URI must match one of them exactly, as a string.
oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("type", String(16), nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("post_logout_redirect_uris", JSON, nullable=False),
    Column("first_party", Boolean, nullable=False),
    Column("id_token_signed_response_alg", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Authorization codes, by the hash of the code. Spent codes stay until pruned: presenting one
# again revokes the session its first exchange opened (`issued_session_id`).
oauth_codes = Table(
    "oauth_codes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column(
        "client_id",
        String(64),
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("redirect_uri", String(2000), nullable=False),
    Column("scope", ScopeList, nullable=False),
    Column("nonce", String(255), nullable=True),
    Column("code_challenge", String(43), nullable=True),
    Column("auth_time", UtcDateTime, nullable=False),
    Column("amr", AuthMethodList, nullable=False),
    # A code authorized in a browser session goes with it: signing out before the exchange
    # leaves nothing to exchange.
    Column(
        "browser_session_id",
        Uuid,
        ForeignKey("sessions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column(
        "issued_session_id",
        Uuid,
        ForeignKey("sessions.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Index(None, "client_id"),
    Index(None, "user_id"),
    Index(None, "browser_session_id"),
    Index(None, "issued_session_id"),
    Index(None, "expires_at"),
)

# What each account consented to give each client.
oauth_grants = Table(
    "oauth_grants",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "client_id",
        String(64),
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("scope", ScopeList, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "client_id"),
)

# Accounts at upstream OpenID providers linked to local ones, found by (provider, subject).
linked_identities = Table(
    "linked_identities",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("email", String(254), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("provider", "subject"),
    Index(None, "user_id"),
)

# Sign-ins through an upstream provider in flight, by the hash of their `state`; spent by the
# callback, pruned once expired.
upstream_sign_ins = Table(
    "upstream_sign_ins",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("state_hash", String(64), nullable=False, unique=True),
    Column("provider", String(64), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("return_to", String(8192), nullable=True),
    Column("link_user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Index(None, "expires_at"),
    Index(None, "link_user_id"),
)

# Endpoints that are told of events. `events` is the sorted list of type names, or ["*"];
# `secret` is sealed (see secret_contexts.webhook_context).
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),
    Column("description", String(500), nullable=True),
    Column("secret", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "created_at", "id"),
)

# What happened, written in the transaction of the change it reports. No foreign key to the
# account: `user.deleted` outlives it.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("user_id", Uuid, nullable=True),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "created_at"),
)

# One event on its way to one endpoint. `seq` orders the deliveries of one account to one
# endpoint: it is taken when the row is written, in the transaction of the change, and two
# changes to one account take their turns on the account's row.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),  # SQLite numbers INTEGER keys only
        primary_key=True,
        autoincrement=True,
    ),
    Column("id", Uuid, nullable=False, unique=True),
    Column("webhook_id", Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column(
        "event_id", String(64), ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False
    ),
    Column("user_id", Uuid, nullable=True),
    Column("type", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_response_status", Integer, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("webhook_id", "event_id"),
    # The dispatcher's "what is due?", and its "is an earlier one of this account pending?".
    Index(None, "status", "next_attempt_at"),
    Index(None, "webhook_id", "user_id", "status", "seq"),
    # An endpoint's deliveries, newest first.
    Index(None, "webhook_id", "created_at", "id"),
    Index(None, "event_id"),
)

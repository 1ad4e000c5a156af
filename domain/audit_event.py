"""Security events: who did what to which account, from where, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID


class AuditEventType(StrEnum):
    SIGNED_UP = "user.signed_up"
    USER_CREATED = "user.created"
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    REFRESH_TOKEN_REUSED = "refresh_token.reused"
    AUTHORIZATION_CODE_REUSED = "authorization_code.reused"
    OAUTH_TOKEN_REVOKED = "oauth_token.revoked"
    LOGGED_OUT = "session.logged_out"
    SESSIONS_REVOKED = "sessions.revoked"
    PASSWORD_CHANGED = "password.changed"
    PASSWORD_RESET = "password.reset"
    EMAIL_VERIFIED = "email.verified"
    EMAIL_CHANGED = "email.changed"
    ROLE_CHANGED = "user.role_changed"
    ACTIVATED = "user.activated"
    DEACTIVATED = "user.deactivated"
    DELETED = "user.deleted"
    TOTP_ENABLED = "mfa.totp_enabled"
    TOTP_DISABLED = "mfa.totp_disabled"
    MFA_FAILED = "mfa.second_step_failed"
    RECOVERY_CODE_USED = "mfa.recovery_code_used"
    RECOVERY_CODES_RENEWED = "mfa.recovery_codes_renewed"
    PASSKEY_ADDED = "passkey.added"
    PASSKEY_RENAMED = "passkey.renamed"
    PASSKEY_REMOVED = "passkey.removed"
    PASSKEY_COUNTER_REGRESSED = "passkey.counter_regressed"
    INVITATION_CREATED = "invitation.created"
    INVITATION_ACCEPTED = "invitation.accepted"
    OAUTH_CLIENT_REGISTERED = "oauth_client.registered"
    OAUTH_CLIENT_CHANGED = "oauth_client.changed"
    OAUTH_CLIENT_DELETED = "oauth_client.deleted"
    OAUTH_CLIENT_SECRET_RENEWED = "oauth_client.secret_renewed"
    WEBHOOK_REGISTERED = "webhook.registered"
    WEBHOOK_CHANGED = "webhook.changed"
    WEBHOOK_DELETED = "webhook.deleted"
    CONSENT_GRANTED = "consent.granted"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    UPSTREAM_SIGN_IN_FAILED = "upstream.sign_in_failed"
    IDENTITY_LINKED = "identity.linked"
    IDENTITY_UNLINKED = "identity.unlinked"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """`user_id` is the account concerned, `actor_id` who acted (the same for self-service,
    an admin for admin changes, None when nobody was authenticated). `data` holds small facts
    — never a password, token or hash."""

    id: UUID
    type: AuditEventType
    created_at: datetime
    user_id: UUID | None = None
    actor_id: UUID | None = None
    ip: str | None = None
    user_agent: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

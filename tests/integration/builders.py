"""Data builders for the adapter tests: valid entities with every field set, overridable."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from application.outbox import OutboxMessage
from application.ports.mail import MailMessage
from domain.audit_event import AuditEvent, AuditEventType
from domain.auth_method import PASSWORD_AND_TOTP
from domain.authorization_code import CODE_LIFETIME, AuthorizationCode
from domain.email import Email
from domain.grant import Grant
from domain.invitation import INVITATION_LIFETIME, Invitation
from domain.linked_identity import LinkedIdentity
from domain.oauth_client import ClientType, IdTokenAlgorithm, OAuthClient
from domain.oauth_scope import Scope
from domain.one_time_token import TOKEN_LIFETIMES, OneTimeToken, TokenPurpose
from domain.role import Role
from domain.session import Session, SessionKind
from domain.signing_key import SigningKey
from domain.upstream_sign_in import UpstreamSignIn
from domain.user import User
from domain.webhook import Webhook, WebhookEvent, WebhookEventType, format_secret

# Microseconds on purpose: a round trip must not lose them.
NOW = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def a_user(**overrides: Any) -> User:
    user_id = overrides.pop("id", None) or uuid.uuid4()
    values: dict[str, Any] = {
        "id": user_id,
        "email": Email(f"user-{user_id.hex[:12]}@example.com"),
        "password_hash": "$2b$04$" + "a" * 53,
        "name": "Ada Lovelace",
        "role": Role.USER,
        "is_active": True,
        "is_verified": False,
        "created_at": NOW - timedelta(days=2),
        "updated_at": NOW - timedelta(days=1),
    }
    values.update(overrides)
    return User(**values)


def a_session(user: User, **overrides: Any) -> Session:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": user.id,
        "refresh_token_hash": secrets.token_hex(32),
        "created_at": NOW - timedelta(hours=1),
        "last_used_at": NOW - timedelta(minutes=5),
        "expires_at": NOW + timedelta(days=30),
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        "ip": "2001:db8::1",
        "revoked_at": None,
    }
    values.update(overrides)
    return Session(**values)


def a_signing_key(**overrides: Any) -> SigningKey:
    kid = overrides.pop("kid", None) or secrets.token_urlsafe(16)
    values: dict[str, Any] = {
        "kid": kid,
        "algorithm": "ES256",
        "private_key_pem": "-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----",
        "public_jwk": {
            "kty": "EC",
            "crv": "P-256",
            "x": secrets.token_urlsafe(32),
            "y": secrets.token_urlsafe(32),
            "kid": kid,
            "alg": "ES256",
            "use": "sig",
            "key_ops": ["verify"],
        },
        "created_at": NOW,
        "retired_at": None,
    }
    values.update(overrides)
    return SigningKey(**values)


def a_one_time_token(user: User, **overrides: Any) -> OneTimeToken:
    """A usable reset token issued to the user a minute before NOW."""
    purpose = overrides.pop("purpose", TokenPurpose.RESET_PASSWORD)
    created_at = overrides.pop("created_at", NOW - timedelta(minutes=1))
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": user.id,
        "purpose": purpose,
        "token_hash": secrets.token_hex(32),
        "email": user.email.value,
        "created_at": created_at,
        "expires_at": created_at + TOKEN_LIFETIMES[purpose],
        "used_at": None,
    }
    values.update(overrides)
    return OneTimeToken(**values)


def an_invitation(**overrides: Any) -> Invitation:
    """A pending invitation of a fresh address, made a minute before NOW."""
    invitation_id = overrides.pop("id", None) or uuid.uuid4()
    created_at = overrides.pop("created_at", NOW - timedelta(minutes=1))
    values: dict[str, Any] = {
        "id": invitation_id,
        "email": Email(f"invited-{invitation_id.hex[:12]}@example.com"),
        "role": Role.USER,
        "name": "Grace Hopper",
        "token_hash": secrets.token_hex(32),
        "invited_by": uuid.uuid4(),
        "created_at": created_at,
        "expires_at": created_at + INVITATION_LIFETIME,
        "accepted_at": None,
    }
    values.update(overrides)
    return Invitation(**values)


def an_outbox_message(**overrides: Any) -> OutboxMessage:
    """A pending message, due since a minute before NOW."""
    message_id = overrides.pop("id", None) or uuid.uuid4()
    created_at = overrides.pop("created_at", NOW - timedelta(minutes=1))
    message = overrides.pop(
        "message",
        MailMessage(
            to=f"user-{message_id.hex[:12]}@example.com",
            subject=f"Message {message_id.hex[:12]} — ✓",
            text=f"Open https://example.org/verify-email?token={secrets.token_urlsafe(32)}\n",
            html='<p>Open <a href="https://example.org/">the link</a></p>',
        ),
    )
    values: dict[str, Any] = {
        "id": message_id,
        "message": message,
        "created_at": created_at,
        "next_attempt_at": created_at,
        "attempts": 0,
    }
    values.update(overrides)
    return OutboxMessage(**values)


def an_audit_event(**overrides: Any) -> AuditEvent:
    """A user's successful login from an IPv6 address, a minute before NOW."""
    user_id = overrides.pop("user_id", None) or uuid.uuid4()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "type": AuditEventType.LOGIN_SUCCEEDED,
        "created_at": NOW - timedelta(minutes=1),
        "user_id": user_id,
        "actor_id": user_id,
        "ip": "2001:db8:85a3::8a2e:370:7334",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        "data": {"session_id": str(uuid.uuid4())},
    }
    values.update(overrides)
    return AuditEvent(**values)


def an_oauth_client(**overrides: Any) -> OAuthClient:
    """A confidential client registered a day before NOW, with two redirect URIs."""
    values: dict[str, Any] = {
        "client_id": secrets.token_urlsafe(16),
        "name": "Wiki — ✓",
        "type": ClientType.CONFIDENTIAL,
        "redirect_uris": ("https://wiki.example.com/callback", "http://127.0.0.1:8080/cb?x=1"),
        "post_logout_redirect_uris": ("https://wiki.example.com/",),
        "first_party": False,
        "id_token_signed_response_alg": IdTokenAlgorithm.RS256,
        "secret_hash": secrets.token_hex(32),
        "created_at": NOW - timedelta(days=1),
        "updated_at": NOW - timedelta(days=1),
    }
    values.update(overrides)
    return OAuthClient(**values)


def an_oauth_session(user: User, client: OAuthClient, **overrides: Any) -> Session:
    """An OAuth session of the client's with offline access (no parent), opened an hour ago
    from a sign-in a minute before."""
    values: dict[str, Any] = {
        "kind": SessionKind.OAUTH,
        "client_id": client.client_id,
        "scopes": frozenset({Scope.OPENID, Scope.EMAIL, Scope.OFFLINE_ACCESS}),
        "auth_time": NOW - timedelta(hours=1, minutes=1),
        "amr": PASSWORD_AND_TOTP,
    }
    values.update(overrides)
    return a_session(user, **values)


def an_authorization_code(
    user: User, client: OAuthClient, browser_session: Session, **overrides: Any
) -> AuthorizationCode:
    """An unused code with a nonce and a PKCE challenge, issued ten seconds before NOW."""
    created_at = overrides.pop("created_at", NOW - timedelta(seconds=10))
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "code_hash": secrets.token_hex(32),
        "client_id": client.client_id,
        "user_id": user.id,
        "redirect_uri": client.redirect_uris[-1],
        "scopes": frozenset({Scope.OPENID, Scope.PROFILE, Scope.EMAIL}),
        "nonce": "n-0S6_WzA2Mj — ✓",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "auth_time": NOW - timedelta(minutes=3),
        "amr": PASSWORD_AND_TOTP,
        "browser_session_id": browser_session.id,
        "created_at": created_at,
        "expires_at": created_at + CODE_LIFETIME,
        "used_at": None,
        "issued_session_id": None,
    }
    values.update(overrides)
    return AuthorizationCode(**values)


def a_grant(user: User, client: OAuthClient, **overrides: Any) -> Grant:
    """The account's consent to openid and email, given a day before NOW."""
    values: dict[str, Any] = {
        "user_id": user.id,
        "client_id": client.client_id,
        "scopes": frozenset({Scope.OPENID, Scope.EMAIL}),
        "created_at": NOW - timedelta(days=1),
        "updated_at": NOW - timedelta(days=1),
    }
    values.update(overrides)
    return Grant(**values)


def a_linked_identity(user: User, **overrides: Any) -> LinkedIdentity:
    """The user's account at "corp", linked a day before NOW."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": user.id,
        "provider": "corp",
        "subject": f"248289761001-{secrets.token_hex(4)}",
        "email": "ada@corp.example.com",
        "created_at": NOW - timedelta(days=1),
    }
    values.update(overrides)
    return LinkedIdentity(**values)


def an_upstream_sign_in(**overrides: Any) -> UpstreamSignIn:
    """A sign-in through "corp" begun a minute before NOW, not yet back."""
    sign_in = UpstreamSignIn.begin(
        id=uuid.uuid4(),
        state_hash=secrets.token_hex(32),
        provider="corp",
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        return_to="/account?tab=✓",
        link_user_id=None,
        now=NOW - timedelta(minutes=1),
    )
    for name, value in overrides.items():
        setattr(sign_in, name, value)
    return sign_in


def a_webhook(**overrides: Any) -> Webhook:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "url": "https://hooks.example.com/portcullis",
        "events": frozenset({"*"}),
        "description": "CRM sync",
        "secret": format_secret(secrets.token_bytes(32)),
        "created_at": NOW - timedelta(days=1),
        "updated_at": NOW - timedelta(hours=1),
    }
    values.update(overrides)
    return Webhook(**values)


def a_webhook_event(**overrides: Any) -> WebhookEvent:
    values: dict[str, Any] = {
        "id": WebhookEvent.id_from(uuid.uuid4()),
        "type": WebhookEventType.USER_UPDATED,
        "user_id": uuid.uuid4(),
        "data": {"id": "3f1c", "name": "Ada Lovelace", "roles": ["user"]},
        "created_at": NOW,
    }
    values.update(overrides)
    return WebhookEvent(**values)

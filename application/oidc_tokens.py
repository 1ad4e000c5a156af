"""What the OpenID provider's tokens say: the ID token (OpenID Connect Core §2), the OAuth access
token (RFC 9068), and the claims about the person that the granted scopes release."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain.auth_method import AuthMethods
from domain.user import User

UserClaimValue = str | int | bool


@dataclass(frozen=True, slots=True)
class UserClaims:
    """The standard claims of OpenID Connect Core §5.1 released to a client; None is a claim
    not released (or with no value), which is left out rather than sent as null (§5.3.2)."""

    name: str | None = None
    updated_at: datetime | None = None
    email: str | None = None
    email_verified: bool | None = None

    @classmethod
    def released(cls, user: User, scopes: Collection[str]) -> UserClaims:
        """`profile` releases name and updated_at; `email` releases email and email_verified."""
        profile = "profile" in scopes
        email = "email" in scopes
        return cls(
            name=user.name if profile else None,
            updated_at=user.updated_at if profile else None,
            email=str(user.email) if email else None,
            email_verified=user.is_verified if email else None,
        )

    def as_claims(self) -> dict[str, UserClaimValue]:
        """As a JSON object holds them: updated_at in seconds since the epoch, a number (§5.1),
        never the RFC 3339 text of /api/v1."""
        claims: dict[str, UserClaimValue] = {}
        if self.name is not None:
            claims["name"] = self.name
        if self.updated_at is not None:
            claims["updated_at"] = int(self.updated_at.timestamp())
        if self.email is not None:
            claims["email"] = self.email
        if self.email_verified is not None:
            claims["email_verified"] = self.email_verified
        return claims


@dataclass(frozen=True, slots=True)
class IdTokenClaims:
    """`client_id` is the audience; `session_id` the session the code exchange opened, which
    RP-initiated logout finds again through the token's `sid`. The lifetime (expires_at) is
    at most the access tokens' own: a retired key is published for that long."""

    subject: UUID
    client_id: str
    session_id: UUID
    issued_at: datetime
    expires_at: datetime
    auth_time: datetime  # when the person last proved who they are, not when the code was made
    amr: AuthMethods
    nonce: str | None = None
    user: UserClaims = field(default_factory=UserClaims)


@dataclass(frozen=True, slots=True)
class IdTokenHint:
    """What an `id_token_hint` names, once its signature and issuer are checked."""

    subject: UUID
    client_id: str
    session_id: UUID


@dataclass(frozen=True, slots=True)
class OAuthAccessTokenClaims:
    """An access token issued to a client: its audience is that client, never the API."""

    subject: UUID
    client_id: str
    scope: tuple[str, ...]
    token_id: UUID
    session_id: UUID
    issued_at: datetime
    expires_at: datetime

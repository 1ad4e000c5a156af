"""The user account entity."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.email import Email
from domain.errors import InvalidDisplayName
from domain.role import Role

MAX_NAME_LENGTH = 100


# Format characters a name may hold (joiners for Persian names and emoji sequences); the
# others, bidirectional overrides above all, only serve to make one name look like another.
_ALLOWED_FORMAT_CHARACTERS = frozenset("\u200c\u200d")


def check_display_name(name: str | None) -> str | None:
    """A display name is 1 to 100 characters, not all blank, without control characters."""
    if name is None:
        return None
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidDisplayName(f"must be 1 to {MAX_NAME_LENGTH} characters")
    if not name.strip():
        raise InvalidDisplayName("must not be blank")
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Co", "Cn") or (
            category == "Cf" and ch not in _ALLOWED_FORMAT_CHARACTERS
        ):
            raise InvalidDisplayName("must not contain control characters")
    return name


@dataclass(slots=True)
class User:
    id: UUID
    email: Email
    # None: an account made through an upstream provider, with no password yet.
    password_hash: str | None
    name: str | None
    role: Role
    is_active: bool
    is_verified: bool
    created_at: datetime
    updated_at: datetime
    mfa_enabled: bool = False  # TOTP is on: a password alone opens no session

    @classmethod
    def register(
        cls,
        *,
        id: UUID,
        email: Email,
        password_hash: str | None,
        name: str | None,
        now: datetime,
        role: Role = Role.USER,
    ) -> User:
        return cls(
            id=id,
            email=email,
            password_hash=password_hash,
            name=check_display_name(name),
            role=role,
            is_active=True,
            is_verified=False,
            created_at=now,
            updated_at=now,
        )

    def rename(self, name: str | None, now: datetime) -> None:
        self.name = check_display_name(name)
        self.updated_at = now

    def change_email(self, email: Email, now: datetime) -> None:
        if email != self.email:
            self.email = email
            self.is_verified = False
            self.updated_at = now

    def mark_verified(self, now: datetime) -> None:
        self.is_verified = True
        self.updated_at = now

    def turn_mfa_on(self, now: datetime) -> None:
        self.mfa_enabled = True
        self.updated_at = now

    def turn_mfa_off(self, now: datetime) -> None:
        self.mfa_enabled = False
        self.updated_at = now

    def set_password_hash(self, password_hash: str, now: datetime) -> None:
        self.password_hash = password_hash
        self.updated_at = now

"""Passkeys (WebAuthn credentials) and the challenges of their ceremonies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from domain.user import check_display_name

# Long enough for a person to find their authenticator and touch it, short enough that a
# challenge captured by someone else is soon worth nothing.
CHALLENGE_LIFETIME = timedelta(minutes=5)
DEFAULT_PASSKEY_NAME = "Passkey"


@dataclass(slots=True)
class Passkey:
    """A public key an authenticator made for one account. `id` is the service's; the
    authenticator knows the credential by `credential_id`. `sign_count` is the newest
    signature counter the authenticator reported."""

    id: UUID
    user_id: UUID
    credential_id: bytes
    public_key: bytes  # COSE_Key, as the authenticator sent it
    sign_count: int
    name: str
    backed_up: bool
    transports: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None = None

    def rename(self, name: str) -> None:
        self.name = check_passkey_name(name)


def check_passkey_name(name: str) -> str:
    """A passkey's name follows the rules of a display name: 1 to 100 characters, not blank,
    without control characters."""
    checked = check_display_name(name)
    assert checked is not None
    return checked


def sign_count_is_acceptable(stored: int, presented: int) -> bool:
    """The counter must increase whenever the stored or the presented one is non-zero: one that
    does not suggests a cloned authenticator. Authenticators that keep no counter (synced
    passkeys) always send 0, and 0 after 0 is fine."""
    if stored == 0 and presented == 0:
        return True
    return presented > stored


class ChallengePurpose(StrEnum):
    REGISTRATION = "registration"
    AUTHENTICATION = "authentication"


@dataclass(frozen=True, slots=True)
class WebAuthnChallenge:
    """The random bytes one ceremony must sign. Spent by its first use, whether the ceremony
    succeeds or not, so that an assertion can never be replayed against it. A registration's
    challenge belongs to the account that asked for it; a sign-in's to nobody yet."""

    id: UUID
    purpose: ChallengePurpose
    challenge: bytes
    user_id: UUID | None
    created_at: datetime
    expires_at: datetime
    spent_at: datetime | None = None

    def is_usable(self, now: datetime) -> bool:
        return self.spent_at is None and now < self.expires_at

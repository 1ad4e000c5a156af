"""An account's second factor: its TOTP authenticator, its recovery codes, and the second step
of a login that proved the password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from domain.auth_method import PASSWORD_ONLY, AuthMethods

RECOVERY_CODE_COUNT = 10
# An mfa_token dies at its fifth wrong code: with 10^6 possible codes, five guesses a password
# proof is nothing, and the login throttle counts every one of them as well.
MAX_WRONG_CODES = 5
DEFAULT_MFA_TOKEN_LIFETIME = timedelta(minutes=5)


@dataclass(slots=True)
class TotpFactor:
    """An authenticator app's shared secret. Pending until a first code confirms that the app
    holds it; `last_step` is the newest 30-second step whose code was accepted, so that no code
    works twice."""

    user_id: UUID
    secret: str  # base32, as the person's app has it
    created_at: datetime
    confirmed_at: datetime | None = None
    last_step: int | None = None

    @property
    def is_enabled(self) -> bool:
        return self.confirmed_at is not None

    def accepts_step(self, step: int) -> bool:
        return self.last_step is None or step > self.last_step


@dataclass(frozen=True, slots=True)
class RecoveryCode:
    id: UUID
    user_id: UUID
    code_hash: str
    created_at: datetime
    used_at: datetime | None = None


@dataclass(slots=True)
class MfaChallenge:
    """The second step of one login: the account whose password was proven, until when, and
    how many wrong codes it has been sent. `throttle_key` is the login's, so that wrong codes
    count where wrong passwords do."""

    id: UUID
    user_id: UUID
    token_hash: str
    throttle_key: str
    created_at: datetime
    expires_at: datetime
    failures: int = 0
    spent_at: datetime | None = None
    # How the first step was passed: a password, or a sign-in at an upstream provider.
    first_factor: AuthMethods = PASSWORD_ONLY

    def is_usable(self, now: datetime) -> bool:
        return self.spent_at is None and self.failures < MAX_WRONG_CODES and now < self.expires_at

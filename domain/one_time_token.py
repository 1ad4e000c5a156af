"""Single-use tokens mailed to a person: a password-reset link, an email-verification link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID


class TokenPurpose(StrEnum):
    RESET_PASSWORD = "reset_password"
    VERIFY_EMAIL = "verify_email"


TOKEN_LIFETIMES = {
    TokenPurpose.RESET_PASSWORD: timedelta(minutes=30),
    TokenPurpose.VERIFY_EMAIL: timedelta(hours=24),
}
# More requests than this within the window are answered as usual but send nothing, so nobody
# can turn the service into a mail cannon aimed at one inbox.
MAX_TOKENS_PER_WINDOW = 3
TOKEN_WINDOW = timedelta(hours=1)


@dataclass(slots=True)
class OneTimeToken:
    id: UUID
    user_id: UUID
    purpose: TokenPurpose
    token_hash: str
    email: str  # the address it was sent to: a verification proves this one, and no other
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def issue(
        cls,
        *,
        id: UUID,
        user_id: UUID,
        purpose: TokenPurpose,
        token_hash: str,
        email: str,
        now: datetime,
    ) -> OneTimeToken:
        return cls(
            id=id,
            user_id=user_id,
            purpose=purpose,
            token_hash=token_hash,
            email=email,
            created_at=now,
            expires_at=now + TOKEN_LIFETIMES[purpose],
        )

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


def may_send_another(tokens_sent_in_window: int) -> bool:
    return tokens_sent_in_window < MAX_TOKENS_PER_WINDOW

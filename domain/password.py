"""The password policy: what a new password must be before it is hashed."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from domain.errors import WeakPassword

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """Length 8 to 256 characters, not a common password, not the account's own email."""

    common_passwords: Container[str]

    def check(self, password: str, email: str) -> None:
        if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            raise WeakPassword(
                f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
            )
        if password.lower() in self.common_passwords:
            raise WeakPassword("is too common")
        if password.strip().lower() == email.lower():
            raise WeakPassword("must not be the email address")

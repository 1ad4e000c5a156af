"""Business metrics, counted by the code that makes the decision they count."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class LoginOutcome(StrEnum):
    SUCCESS = "success"
    INVALID_CREDENTIALS = "invalid_credentials"
    ACCOUNT_DISABLED = "account_disabled"
    THROTTLED = "throttled"
    MFA_REQUIRED = "mfa_required"  # the password was right; the second step is next
    INVALID_MFA_CODE = "invalid_mfa_code"


class SecurityMetrics(Protocol):
    def login(self, outcome: LoginOutcome) -> None:
        """One login attempt ended this way."""

    def refresh_token_reused(self) -> None:
        """A refresh token that was already traded came back; its session was revoked."""

    def authorization_code_reused(self) -> None:
        """An authorization code that was already exchanged came back; what it opened was
        revoked."""

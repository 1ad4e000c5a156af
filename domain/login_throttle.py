"""Throttling password guesses per account: after too many failures in a window, every attempt
is refused until the window has passed — the right password too. Emails with no account are
counted the same way, so the answers never tell which accounts exist."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class FailedLogins:
    key: str
    failures: int
    window_started_at: datetime


@dataclass(frozen=True, slots=True)
class LoginThrottlePolicy:
    max_failures: int
    window: timedelta

    def window_is_over(self, record: FailedLogins, now: datetime) -> bool:
        return now >= record.window_started_at + self.window

    def is_throttled(self, record: FailedLogins | None, now: datetime) -> bool:
        return (
            record is not None
            and record.failures >= self.max_failures
            and not self.window_is_over(record, now)
        )

    def retry_after_seconds(self, record: FailedLogins, now: datetime) -> int:
        remaining = (record.window_started_at + self.window - now).total_seconds()
        return max(1, math.ceil(remaining))

    def after_failure(self, record: FailedLogins | None, key: str, now: datetime) -> FailedLogins:
        """What the record becomes after one more failure (a window that is over starts anew)."""
        if record is None or self.window_is_over(record, now):
            return FailedLogins(key=key, failures=1, window_started_at=now)
        return FailedLogins(
            key=key, failures=record.failures + 1, window_started_at=record.window_started_at
        )

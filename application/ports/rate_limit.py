"""The port to a rate limiter: a token bucket per key (a scope and a client, say).

Every adapter keeps the same bucket: it holds at most `per_minute` tokens, starts full, and
refills continuously at `per_minute / 60` tokens a second. Each hit takes one token; a hit that
finds less than one is refused, and is told how long until a token is there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    allowed: bool
    # Whole seconds until the next hit would be allowed: at least 1 when refused, else 0.
    retry_after_seconds: int = 0


ALLOWED = RateLimitDecision(allowed=True)


class RateLimiter(Protocol):
    async def hit(self, key: str) -> RateLimitDecision:
        """Take one token from the bucket of `key`, if it has one."""

    async def aclose(self) -> None:
        """Release what the limiter holds (connections, say); it takes no hits after this."""

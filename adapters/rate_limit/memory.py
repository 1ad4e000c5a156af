"""Token buckets in this process's memory: right for one process, not shared by replicas."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from application.ports.rate_limit import ALLOWED, RateLimitDecision

SECONDS_PER_MINUTE = 60
# A flood of distinct clients must not grow memory without end. Past this many live buckets the
# least recently used one is dropped: that client gets a full bucket again, which only matters
# for a client that is throttled while this many others are too.
DEFAULT_MAX_BUCKETS = 100_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_at: float


class MemoryRateLimiter:
    """`clock` is monotonic seconds (tests pass their own). A hit never awaits, so on one event
    loop each hit is atomic; every worker process has buckets of its own."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_buckets: int = DEFAULT_MAX_BUCKETS,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        if max_buckets < 1:
            raise ValueError("max_buckets must be at least 1")
        self._capacity = float(per_minute)
        self._per_second = per_minute / SECONDS_PER_MINUTE
        # An untouched bucket is full again after this long, the same as no bucket at all.
        self._refill_seconds = self._capacity / self._per_second
        self._clock = clock
        self._max_buckets = max_buckets
        # Least recently hit first, so idle buckets are found at the front.
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        """How many buckets are held (for tests and curiosity)."""
        return len(self._buckets)

    async def hit(self, key: str) -> RateLimitDecision:
        now = self._clock()
        self._evict(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            while len(self._buckets) >= self._max_buckets:
                self._buckets.popitem(last=False)
            bucket = self._buckets[key] = _Bucket(tokens=self._capacity, updated_at=now)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.updated_at)
            bucket.tokens = min(self._capacity, bucket.tokens + elapsed * self._per_second)
            bucket.updated_at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return ALLOWED
        wait = math.ceil((1 - bucket.tokens) / self._per_second)
        return RateLimitDecision(allowed=False, retry_after_seconds=max(1, wait))

    async def aclose(self) -> None:
        """Nothing to release: the buckets are plain memory."""

    def _evict(self, now: float) -> None:
        """Drop the buckets that have refilled completely while nobody hit them."""
        buckets = self._buckets
        while buckets:
            oldest = next(iter(buckets.values()))
            if now - oldest.updated_at < self._refill_seconds:
                break
            buckets.popitem(last=False)

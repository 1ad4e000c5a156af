"""The signing keys one process holds: a copy of the key table, parsed, kept fresh."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.security.jwt_codec import LEEWAY, JwtKey
from application.errors import StorageUnavailable
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock
from domain.signing_key import SigningKey

log = logging.getLogger(__name__)

# How long the copy is trusted; a rotation (or a key removed) reaches this process within it.
STALE_AFTER_SECONDS = 5.0
# An unknown kid may come from a key another replica made a moment ago — or from a forger:
# reload for it, but at most this often.
UNKNOWN_KID_RELOAD_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Held:
    stored: SigningKey
    key: JwtKey


class KeyRing:
    """Loads the keys through the unit of work it is given, and:

    - signs with the newest active key of an algorithm: the API's own (the configured one)
      unless another is asked for (RS256 for an ID token, say);
    - finds a key by kid for verifying;
    - lists the public keys that may have signed a token still acceptable;
    - tells on_keys_removed the kids of keys that left the table, at the reload that saw it.

    No caller waits for the database once the keys are loaded, except to look for a kid the
    ring does not hold; a stale copy is reloaded in the background. Tokens are issued inside a
    unit of work (login, refresh) that holds a pooled connection: waiting there for another
    connection could leave every connection of a fixed pool held by a request waiting for one.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        algorithm: str,
        access_token_ttl: timedelta,
        on_keys_removed: Callable[[frozenset[str]], None] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._algorithm = algorithm
        # A replica may go on signing with a retired key until its copy is reloaded, and a
        # token is accepted for its lifetime plus the leeway after that.
        self._published_after_retirement = (
            access_token_ttl + LEEWAY + timedelta(seconds=STALE_AFTER_SECONDS)
        )
        self._on_keys_removed = on_keys_removed
        self._held: dict[str, _Held] = {}
        self._signing: dict[str, JwtKey] = {}  # the newest active key of each algorithm
        self._loaded_at = -math.inf  # the clock's monotonic reading at the last load
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Load the keys now: at start-up, so that no request waits for the first load."""
        await self._load_if_older_than(0.0)

    async def keep_fresh(self) -> None:
        """Reload the keys every STALE_AFTER_SECONDS for as long as the server runs, so a
        rotation reaches this process in that time whether or not it issues tokens meanwhile.
        Cancel the task to stop it."""
        try:
            while True:
                await asyncio.sleep(STALE_AFTER_SECONDS)
                await self._load_quietly(0.0)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop a background reload in flight, if any, and wait until it has stopped."""
        background, self._background = self._background, None
        if background is not None and not background.done():
            background.cancel()
            await asyncio.wait({background})  # raises nothing of the task's own

    async def signing_key(self, algorithm: str | None = None) -> JwtKey:
        """The key to sign with now: the newest active key of `algorithm`, by default the
        configured one."""
        await self._ensure_loaded()
        wanted = algorithm or self._algorithm
        signing = self._signing.get(wanted)
        if signing is None:
            raise RuntimeError(f"no active {wanted} signing key; is the database migrated?")
        return signing

    async def verification_key(self, kid: str) -> JwtKey | None:
        """The key named kid; None if the database has no such key either."""
        held = self._held.get(kid)
        if held is None:
            await self._load_if_older_than(UNKNOWN_KID_RELOAD_SECONDS)
            held = self._held.get(kid)
        else:
            self._reload_in_background_if_stale()
        return held.key if held is not None else None

    async def public_jwks(self) -> list[dict[str, Any]]:
        """The public JWK of every key that may have signed a token still acceptable."""
        await self._ensure_loaded()
        now = self._clock.now()
        return [
            held.stored.public_jwk
            for held in self._held.values()
            if held.stored.may_have_signed_a_live_token(now, self._published_after_retirement)
        ]

    async def _ensure_loaded(self) -> None:
        if self._loaded_at == -math.inf:
            await self._load_if_older_than(STALE_AFTER_SECONDS)
        else:
            self._reload_in_background_if_stale()

    def _reload_in_background_if_stale(self) -> None:
        if self._clock.monotonic() - self._loaded_at < STALE_AFTER_SECONDS or self._lock.locked():
            return
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._load_quietly(STALE_AFTER_SECONDS))

    async def _load_quietly(self, max_age: float) -> None:
        """A reload nobody waits for: whatever fails, the keys held go on serving and the next
        reload tries again. A database that is down is /readyz's to report; anything else is
        logged, so that keep_fresh outlives it."""
        try:
            await self._load_if_older_than(max_age)
        except StorageUnavailable:
            pass
        except Exception:
            log.exception("signing_keys_reload_failed")

    async def _load_if_older_than(self, max_age: float) -> None:
        if self._clock.monotonic() - self._loaded_at < max_age:
            return
        async with self._lock:
            if self._clock.monotonic() - self._loaded_at < max_age:
                return  # loaded by whoever held the lock
            async with self._uow() as uow:
                stored = await uow.signing_keys.list()
            self._install(stored)
            self._loaded_at = self._clock.monotonic()

    def _install(self, stored: Sequence[SigningKey]) -> None:
        held: dict[str, _Held] = {}
        for key in stored:
            previous = self._held.get(key.kid)
            # Parsing a PEM costs far more than comparing: keep what is unchanged.
            if previous is not None and previous.stored == key:
                held[key.kid] = previous
            else:
                held[key.kid] = _Held(key, JwtKey.of(key))
        removed = frozenset(self._held.keys() - held.keys())
        self._held = held
        self._signing = self._newest_active(held.values())
        if removed and self._on_keys_removed is not None:
            self._on_keys_removed(removed)

    @staticmethod
    def _newest_active(held: Iterable[_Held]) -> dict[str, JwtKey]:
        newest: dict[str, _Held] = {}
        for entry in held:
            if not entry.stored.is_active:
                continue
            other = newest.get(entry.stored.algorithm)
            if other is None or _recency(entry) > _recency(other):
                newest[entry.stored.algorithm] = entry
        return {algorithm: entry.key for algorithm, entry in newest.items()}


def _recency(entry: _Held) -> tuple[datetime, str]:
    """The newer key compares greater; of two made at the same moment, the kid decides."""
    return entry.stored.created_at, entry.stored.kid

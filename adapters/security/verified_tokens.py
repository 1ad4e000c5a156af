"""Access tokens that verified, remembered by their exact text until they expire.

A client sends the same access token with every request for its whole lifetime, and checking
its signature is the dearest step of authenticating it. A forgery never equals a token that
verified, so looking the exact text up is as safe as checking it again; revocation is not
decided here but by the database, on every request."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from application.ports.system import Clock

Claims = TypeVar("Claims")

# Bounded, so a flood of valid tokens costs at most this many entries (about 1 kB each).
VERIFIED_TOKENS_SIZE = 4096


@dataclass(frozen=True, slots=True)
class _Verified(Generic[Claims]):
    claims: Claims
    kid: str
    until: datetime  # accepted while the clock reads earlier than this


class VerifiedTokens(Generic[Claims]):
    """The claims of each kind of token are its own: one instance per kind."""

    def __init__(self, clock: Clock, *, size: int = VERIFIED_TOKENS_SIZE) -> None:
        self._clock = clock
        self._size = size
        self._entries: dict[str, _Verified[Claims]] = {}  # oldest first

    def get(self, token: str) -> Claims | None:
        """The claims of this exact token if it verified and is still acceptable; else None."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if self._clock.now() < entry.until:
            return entry.claims
        del self._entries[token]
        return None

    def remember(self, token: str, claims: Claims, *, kid: str, until: datetime) -> None:
        """Remember a token that verified with the key kid, until the clock reads `until`."""
        if token not in self._entries and len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[token] = _Verified(claims, kid, until)

    def forget_keys(self, kids: Set[str]) -> None:
        """Forget the tokens these keys signed: a key removed takes its tokens with it."""
        self._entries = {
            token: entry for token, entry in self._entries.items() if entry.kid not in kids
        }

    def __len__(self) -> int:
        return len(self._entries)

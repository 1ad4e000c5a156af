from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""

    def monotonic(self) -> float:
        """Seconds since an arbitrary start, never going back: for how long ago something
        happened, which a wall clock that is set back or forward would get wrong."""


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...

"""Where a request came from, for the audit trail."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    ip: str | None = None
    user_agent: str | None = None


NO_CALLER = Caller()

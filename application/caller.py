"""Who a use case acts for: where the request came from, and who is signed in."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.user import User


@dataclass(frozen=True, slots=True)
class Caller:
    """Where a request came from, for the audit trail."""

    ip: str | None = None
    user_agent: str | None = None


NO_CALLER = Caller()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user as the database has them now, and the session they use."""

    user: User
    session_id: UUID


@dataclass(frozen=True, slots=True)
class Operator:
    """Whoever runs the service, at its command line: no account, no role to check. `via`
    names the tool, for the audit trail."""

    via: str = "cli"

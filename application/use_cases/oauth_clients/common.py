"""What the client registry's use cases share: who may manage clients, and how that is
written in the audit trail."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.authorization import require_admin
from application.caller import Operator, Principal

# An admin signed in to the API, or the operator at the command line.
ClientManager = Principal | Operator


def authorize(by: ClientManager) -> UUID | None:
    """Refuse anyone but an admin or the operator; the admin's id for the audit trail (the
    operator has none)."""
    if isinstance(by, Operator):
        return None
    require_admin(by.user)
    return by.user.id


def how(by: ClientManager) -> dict[str, Any]:
    """What the audit trail notes of the way in: the operator's tool."""
    return {"via": by.via} if isinstance(by, Operator) else {}

"""The rule that the service always keeps an active admin."""

from __future__ import annotations

from uuid import UUID

from application.errors import LastAdmin
from application.ports.persistence import UnitOfWork


async def lock_admins(uow: UnitOfWork) -> set[UUID]:
    """Call before a change that could demote, deactivate or delete an admin."""
    return await uow.users.lock_active_admins()


async def ensure_an_admin_remains(uow: UnitOfWork, admins_before: set[UUID]) -> None:
    """Call after the change, in the same transaction; raising rolls the change back. A
    service that had no admin yet (before `create-admin`) is not held to the rule."""
    if admins_before and not await uow.users.active_admins():
        raise LastAdmin()

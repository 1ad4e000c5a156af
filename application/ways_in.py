"""Whether an account can still sign in, as its stored state stands in a unit of work."""

from __future__ import annotations

from application.ports.persistence import UnitOfWork
from domain.linked_identity import leaves_a_way_in
from domain.user import User


async def has_a_way_in(uow: UnitOfWork, user: User) -> bool:
    """A password, a passkey or a linked identity left, read in this unit of work: a removal
    checks it after removing, its account's row locked (UserRepository.get_for_update)."""
    return leaves_a_way_in(
        has_password=bool(user.password_hash),
        passkeys=len(await uow.passkeys.list_of_user(user.id)),
        other_identities=len(await uow.linked_identities.list_of_user(user.id)),
    )

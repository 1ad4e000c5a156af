from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.errors import InvalidAccessToken, InvalidCurrentPassword
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import PasswordHasher


@dataclass(frozen=True, slots=True)
class DeleteAccountCommand:
    user_id: UUID
    password: str


class DeleteAccount:
    """A person deletes their own account; its sessions go with it and the email is free again."""

    def __init__(self, uow: UnitOfWorkFactory, hasher: PasswordHasher) -> None:
        self._uow = uow
        self._hasher = hasher

    async def execute(self, command: DeleteAccountCommand) -> None:
        async with self._uow() as uow:
            user = await uow.users.get(command.user_id)
        if user is None:
            raise InvalidAccessToken()
        if not await self._hasher.verify(command.password, user.password_hash):
            raise InvalidCurrentPassword()
        async with self._uow() as uow:
            current = await uow.users.get(user.id)
            if current is None:
                raise InvalidAccessToken()
            if current.password_hash != user.password_hash:
                # The password changed while we were checking it: the proof we checked is stale.
                raise InvalidCurrentPassword()
            await uow.users.delete(user.id)
            await uow.commit()

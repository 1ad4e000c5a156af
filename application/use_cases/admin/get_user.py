from __future__ import annotations

from uuid import UUID

from application.authorization import require_admin
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from domain.user import User


class GetUser:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, actor: User, user_id: UUID) -> User:
        require_admin(actor)
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise NotFound("user")
        return user

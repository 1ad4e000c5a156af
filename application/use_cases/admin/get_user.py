from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import require_admin
from application.caller import Principal
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from domain.user import User


@dataclass(frozen=True, slots=True)
class GetUserQuery:
    principal: Principal
    user_id: UUID


class GetUser:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: GetUserQuery) -> User:
        require_admin(query.principal.user)
        async with self._uow() as uow:
            user = await uow.users.get(query.user_id)
        if user is None:
            raise NotFound("user")
        return user

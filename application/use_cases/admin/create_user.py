from __future__ import annotations

from application.authorization import require_admin
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from domain.user import User


class CreateUser:
    """An admin opens an account for someone, with any role."""

    def __init__(self, register: RegisterUser) -> None:
        self._register = register

    async def execute(self, actor: User, command: RegisterUserCommand) -> User:
        require_admin(actor)
        return await self._register.execute(command, actor_id=actor.id)

from __future__ import annotations

from dataclasses import dataclass

from application.authorization import require_admin
from application.caller import NO_CALLER, Caller, Principal
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from domain.role import Role
from domain.user import User


@dataclass(frozen=True, slots=True)
class CreateUserCommand:
    principal: Principal
    email: str
    password: str
    name: str | None = None
    role: Role = Role.USER
    caller: Caller = NO_CALLER


class CreateUser:
    """An admin opens an account for someone, with any role."""

    def __init__(self, register: RegisterUser) -> None:
        self._register = register

    async def execute(self, command: CreateUserCommand) -> User:
        actor = command.principal.user
        require_admin(actor)
        return await self._register.execute(
            RegisterUserCommand(
                email=command.email,
                password=command.password,
                name=command.name,
                role=command.role,
                caller=command.caller,
                actor_id=actor.id,
            )
        )

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.errors import InvalidAccessToken
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock
from application.unset import UNSET, Unset
from domain.email import Email
from domain.user import User


@dataclass(frozen=True, slots=True)
class UpdateProfileCommand:
    user_id: UUID
    name: str | Unset | None = UNSET
    email: str | Unset = UNSET


class UpdateProfile:
    """A person edits their own name or email; a new email must be verified again."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: UpdateProfileCommand) -> User:
        new_email = None if command.email is UNSET else Email.parse(command.email)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(command.user_id)
            if user is None:
                raise InvalidAccessToken()
            if command.name is not UNSET:
                user.rename(command.name, now)
            if new_email is not None:
                user.change_email(new_email, now)
            await uow.users.save(user)
            await uow.commit()
        return user

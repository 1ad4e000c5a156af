from __future__ import annotations

from dataclasses import dataclass

from application.errors import InvalidOrExpiredToken
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock
from application.secret_tokens import hash_secret_token


@dataclass(frozen=True, slots=True)
class OpenInvitationQuery:
    token: str


@dataclass(frozen=True, slots=True)
class InvitationView:
    """What the acceptance page shows: whom the invitation is for, and the suggested name."""

    email: str
    name: str | None


class OpenInvitation:
    """Read the invitation a link carries, to show its form. Only reads: a link scanner or a
    mail preview that follows the link accepts nothing and spends nothing."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, query: OpenInvitationQuery) -> InvitationView:
        async with self._uow() as uow:
            invitation = await uow.invitations.find_usable(
                hash_secret_token(query.token), self._clock.now()
            )
        if invitation is None:
            raise InvalidOrExpiredToken()
        return InvitationView(email=invitation.email.value, name=invitation.name)

from __future__ import annotations

from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock
from domain.session_scope import SessionScope


class RevokeSessions:
    """End the caller's sessions in a scope: logout (the current one), "log out everywhere"."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, scope: SessionScope) -> int:
        async with self._uow() as uow:
            revoked = await uow.sessions.revoke(scope, self._clock.now())
            await uow.commit()
        return revoked


class RevokeOwnSession:
    """End one session picked from the caller's list. Someone else's session, an unknown one
    and one already ended all get the same NotFound, so ids cannot be probed."""

    def __init__(self, revoke: RevokeSessions) -> None:
        self._revoke = revoke

    async def execute(self, scope: SessionScope) -> None:
        if scope.only is None:
            raise ValueError("RevokeOwnSession needs a scope of one session")
        if await self._revoke.execute(scope) == 0:
            raise NotFound("session")

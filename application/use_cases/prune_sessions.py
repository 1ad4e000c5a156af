from __future__ import annotations

from datetime import timedelta

from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock


class PruneSessions:
    """Delete sessions that expired, or were revoked longer ago than the grace period
    (kept that long so a replayed refresh token is still recognised as a replay)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, revoked_grace: timedelta) -> int:
        now = self._clock.now()
        async with self._uow() as uow:
            pruned = await uow.sessions.prune(
                expired_before=now, revoked_before=now - revoked_grace
            )
            await uow.commit()
        return pruned

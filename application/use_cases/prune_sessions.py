from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock


@dataclass(frozen=True, slots=True)
class PruneSessionsCommand:
    revoked_grace: timedelta


class PruneSessions:
    """Delete sessions that expired, or were revoked longer ago than the grace period
    (kept that long so a replayed refresh token is still recognised as a replay), and the
    second steps of logins and the passkey challenges that expired. Returns the number of
    sessions deleted."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: PruneSessionsCommand) -> int:
        now = self._clock.now()
        async with self._uow() as uow:
            pruned = await uow.sessions.prune(
                expired_before=now, revoked_before=now - command.revoked_grace
            )
            await uow.mfa_challenges.prune(expired_before=now)
            await uow.webauthn_challenges.prune(expired_before=now)
            await uow.commit()
        return pruned

from __future__ import annotations

from dataclasses import dataclass

from application.ports.persistence import DatabaseProbe


@dataclass(frozen=True, slots=True)
class CheckReadinessQuery:
    """Nothing to choose: the question is always whether the database answers."""


class CheckReadiness:
    """Ready means the database answers; StorageUnavailable otherwise."""

    def __init__(self, probe: DatabaseProbe) -> None:
        self._probe = probe

    async def execute(self, query: CheckReadinessQuery) -> None:
        await self._probe.ping()

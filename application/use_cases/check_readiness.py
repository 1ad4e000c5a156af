from __future__ import annotations

from application.ports.persistence import DatabaseProbe


class CheckReadiness:
    """Ready means the database answers; StorageUnavailable otherwise."""

    def __init__(self, probe: DatabaseProbe) -> None:
        self._probe = probe

    async def execute(self) -> None:
        await self._probe.ping()

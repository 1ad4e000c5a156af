from __future__ import annotations

from application.ports.persistence import UnitOfWorkFactory
from domain.signing_key import SigningKey


class ListSigningKeys:
    """Every signing key, newest first, for operators."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self) -> list[SigningKey]:
        async with self._uow() as uow:
            return await uow.signing_keys.list()

from __future__ import annotations

from dataclasses import dataclass

from application.ports.persistence import UnitOfWorkFactory
from domain.signing_key import SigningKey


@dataclass(frozen=True, slots=True)
class ListSigningKeysQuery:
    """Nothing to choose: every key is listed."""


class ListSigningKeys:
    """Every signing key, newest first, for operators."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListSigningKeysQuery) -> list[SigningKey]:
        async with self._uow() as uow:
            return await uow.signing_keys.list()

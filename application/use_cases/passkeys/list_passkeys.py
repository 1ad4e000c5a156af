from __future__ import annotations

from dataclasses import dataclass

from application.caller import Principal
from application.ports.persistence import UnitOfWorkFactory
from application.use_cases.passkeys.common import PasskeyView


@dataclass(frozen=True, slots=True)
class ListPasskeysQuery:
    principal: Principal


class ListPasskeys:
    """The signed-in account's passkeys, oldest first."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListPasskeysQuery) -> list[PasskeyView]:
        async with self._uow() as uow:
            passkeys = await uow.passkeys.list_of_user(query.principal.user.id)
        return [PasskeyView.of(passkey) for passkey in passkeys]

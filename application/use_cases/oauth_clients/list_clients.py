from __future__ import annotations

from dataclasses import dataclass

from application.ports.persistence import UnitOfWorkFactory
from application.use_cases.oauth_clients.common import ClientManager, authorize
from domain.oauth_client import OAuthClient


@dataclass(frozen=True, slots=True)
class ListClientsQuery:
    by: ClientManager


class ListClients:
    """Every registered client, oldest first."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListClientsQuery) -> list[OAuthClient]:
        authorize(query.by)
        async with self._uow() as uow:
            return await uow.oauth_clients.list()

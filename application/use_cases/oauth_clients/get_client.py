from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.use_cases.oauth_clients.common import ClientManager, authorize
from domain.oauth_client import OAuthClient


@dataclass(frozen=True, slots=True)
class GetClientQuery:
    by: ClientManager
    client_id: str


class GetClient:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: GetClientQuery) -> OAuthClient:
        authorize(query.by)
        async with self._uow() as uow:
            client = await uow.oauth_clients.get(query.client_id)
        if client is None:
            raise NotFound("client")
        return client

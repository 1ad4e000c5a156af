from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.caller import Principal
from application.ports.persistence import UnitOfWorkFactory
from domain.oauth_scope import Scope


@dataclass(frozen=True, slots=True)
class GrantView:
    """An application the account granted, as its owner sees it: `scopes` in Scope's order."""

    client_id: str
    client_name: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ListGrantsQuery:
    principal: Principal


class ListGrants:
    """The applications the caller granted, oldest grant first."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListGrantsQuery) -> list[GrantView]:
        views: list[GrantView] = []
        async with self._uow() as uow:
            for grant in await uow.oauth_grants.list_of_user(query.principal.user.id):
                client = await uow.oauth_clients.get(grant.client_id)
                # A grant ends with its client; one read between the two is simply left out.
                if client is None:
                    continue
                views.append(
                    GrantView(
                        client_id=grant.client_id,
                        client_name=client.name,
                        scopes=tuple(scope for scope in Scope if scope in grant.scopes),
                        created_at=grant.created_at,
                        updated_at=grant.updated_at,
                    )
                )
        return views

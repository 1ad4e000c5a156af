"""Each account's consent to each client, one row per pair."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.tables import oauth_grants
from domain.grant import Grant


class SqlAlchemyGrantRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, user_id: UUID, client_id: str) -> Grant | None:
        row = (await self._connection.execute(self._select(user_id, client_id))).first()
        return _grant(row) if row else None

    async def upsert(self, grant: Grant) -> Grant:
        # The union of two sets of scopes is the domain's to compute: the row is made if it is
        # missing (a concurrent maker's insert waits for that one to end, then does nothing),
        # then read locked, widened and written back.
        insert = (
            postgresql_insert if self._connection.dialect.name == "postgresql" else sqlite_insert
        )
        await self._connection.execute(
            insert(oauth_grants)
            .values(
                user_id=grant.user_id,
                client_id=grant.client_id,
                scope=grant.scopes,
                created_at=grant.created_at,
                updated_at=grant.updated_at,
            )
            .on_conflict_do_nothing(
                index_elements=[oauth_grants.c.user_id, oauth_grants.c.client_id]
            )
        )
        row = (
            await self._connection.execute(
                self._select(grant.user_id, grant.client_id).with_for_update()
            )
        ).one()
        stored = _grant(row)
        if stored == grant:  # made just now
            return stored
        stored.widen(grant.scopes, grant.updated_at)
        await self._connection.execute(
            update(oauth_grants)
            .where(
                oauth_grants.c.user_id == grant.user_id,
                oauth_grants.c.client_id == grant.client_id,
            )
            .values(scope=stored.scopes, updated_at=stored.updated_at)
        )
        return stored

    async def list_of_user(self, user_id: UUID) -> list[Grant]:
        rows = await self._connection.execute(
            select(oauth_grants)
            .where(oauth_grants.c.user_id == user_id)
            .order_by(oauth_grants.c.created_at, oauth_grants.c.client_id)
        )
        return [_grant(row) for row in rows]

    async def delete(self, user_id: UUID, client_id: str) -> bool:
        result = await self._connection.execute(
            delete(oauth_grants).where(
                oauth_grants.c.user_id == user_id, oauth_grants.c.client_id == client_id
            )
        )
        return result.rowcount > 0

    @staticmethod
    def _select(user_id: UUID, client_id: str) -> Select[Any]:
        return select(oauth_grants).where(
            oauth_grants.c.user_id == user_id, oauth_grants.c.client_id == client_id
        )


def _grant(row: Row[Any]) -> Grant:
    return Grant(
        user_id=row.user_id,
        client_id=row.client_id,
        scopes=row.scope,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )

"""The registry of OAuth clients. Deleting a client deletes its sessions, codes and grants too:
their foreign keys do it (ON DELETE CASCADE), in the same statement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.tables import oauth_clients
from domain.oauth_client import ClientType, IdTokenAlgorithm, OAuthClient


class SqlAlchemyOAuthClientRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, client: OAuthClient) -> None:
        await self._connection.execute(
            insert(oauth_clients).values(
                client_id=client.client_id,
                type=client.type.value,
                secret_hash=client.secret_hash,
                created_at=client.created_at,
                **_editable(client),
            )
        )

    async def get(self, client_id: str) -> OAuthClient | None:
        row = (
            await self._connection.execute(
                select(oauth_clients).where(oauth_clients.c.client_id == client_id)
            )
        ).first()
        return _client(row) if row else None

    async def save(self, client: OAuthClient) -> None:
        await self._update(client.client_id, **_editable(client))

    async def save_secret(self, client: OAuthClient) -> None:
        await self._update(
            client.client_id, secret_hash=client.secret_hash, updated_at=client.updated_at
        )

    async def delete(self, client_id: str) -> None:
        await self._connection.execute(
            delete(oauth_clients).where(oauth_clients.c.client_id == client_id)
        )

    async def list(self) -> list[OAuthClient]:
        rows = await self._connection.execute(
            select(oauth_clients).order_by(oauth_clients.c.created_at, oauth_clients.c.client_id)
        )
        return [_client(row) for row in rows]

    async def _update(self, client_id: str, **values: Any) -> None:
        await self._connection.execute(
            update(oauth_clients).where(oauth_clients.c.client_id == client_id).values(**values)
        )


def _editable(client: OAuthClient) -> dict[str, Any]:
    return {
        "name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "first_party": client.first_party,
        "id_token_signed_response_alg": client.id_token_signed_response_alg.value,
        "updated_at": client.updated_at,
    }


def _client(row: Row[Any]) -> OAuthClient:
    return client_from_mapping(row._mapping)


def client_from_mapping(row: Mapping[Any, Any]) -> OAuthClient:
    """From a row of the oauth_clients table, its values as SQLAlchemy's column types give them."""
    return OAuthClient(
        client_id=row["client_id"],
        name=row["name"],
        type=ClientType(row["type"]),
        redirect_uris=tuple(row["redirect_uris"]),
        post_logout_redirect_uris=tuple(row["post_logout_redirect_uris"]),
        first_party=row["first_party"],
        id_token_signed_response_alg=IdTokenAlgorithm(row["id_token_signed_response_alg"]),
        secret_hash=row["secret_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )

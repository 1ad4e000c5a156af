from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.secret_contexts import signing_key_context
from adapters.persistence.tables import signing_keys
from application.ports.security import SecretSealer
from domain.signing_key import SigningKey


class SqlAlchemySigningKeyRepository:
    """The private key is sealed on its way in and opened on its way out."""

    def __init__(self, connection: AsyncConnection, sealer: SecretSealer) -> None:
        self._connection = connection
        self._sealer = sealer

    async def list(self) -> list[SigningKey]:
        statement = select(signing_keys).order_by(
            signing_keys.c.created_at.desc(), signing_keys.c.kid.desc()
        )
        return [
            SigningKey(
                kid=row.kid,
                algorithm=row.algorithm,
                private_key_pem=self._sealer.open(
                    row.private_key_pem, signing_key_context(row.kid)
                ),
                public_jwk=row.public_jwk,
                created_at=row.created_at,
                retired_at=row.retired_at,
            )
            for row in await self._connection.execute(statement)
        ]

    async def add(self, key: SigningKey) -> None:
        await self._connection.execute(
            insert(signing_keys).values(
                kid=key.kid,
                algorithm=key.algorithm,
                private_key_pem=self._sealer.seal(
                    key.private_key_pem, signing_key_context(key.kid)
                ),
                public_jwk=key.public_jwk,
                created_at=key.created_at,
                retired_at=key.retired_at,
            )
        )

    async def save(self, key: SigningKey) -> None:
        await self._connection.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == key.kid)
            .values(retired_at=key.retired_at)
        )

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.tables import one_time_tokens
from domain.one_time_token import OneTimeToken, TokenPurpose


def _token_from_row(row: Row[Any]) -> OneTimeToken:
    return OneTimeToken(
        id=row.id,
        user_id=row.user_id,
        purpose=TokenPurpose(row.purpose),
        token_hash=row.token_hash,
        email=row.email,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


class SqlAlchemyOneTimeTokenRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, token: OneTimeToken) -> None:
        await self._connection.execute(
            insert(one_time_tokens).values(
                id=token.id,
                user_id=token.user_id,
                purpose=token.purpose.value,
                token_hash=token.token_hash,
                email=token.email,
                created_at=token.created_at,
                expires_at=token.expires_at,
                used_at=token.used_at,
            )
        )

    async def find_usable(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> OneTimeToken | None:
        statement = select(one_time_tokens).where(
            one_time_tokens.c.token_hash == token_hash,
            one_time_tokens.c.purpose == purpose.value,
            one_time_tokens.c.used_at.is_(None),
            one_time_tokens.c.expires_at > now,
        )
        row = (await self._connection.execute(statement)).first()
        return _token_from_row(row) if row else None

    async def consume(self, token_id: UUID, now: datetime) -> bool:
        result = await self._connection.execute(
            update(one_time_tokens)
            .where(
                one_time_tokens.c.id == token_id,
                one_time_tokens.c.used_at.is_(None),
                one_time_tokens.c.expires_at > now,
            )
            .values(used_at=now)
        )
        return result.rowcount == 1

    async def invalidate_unused(self, user_id: UUID, purpose: TokenPurpose, now: datetime) -> int:
        result = await self._connection.execute(
            update(one_time_tokens)
            .where(
                one_time_tokens.c.user_id == user_id,
                one_time_tokens.c.purpose == purpose.value,
                one_time_tokens.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return result.rowcount

    async def count_created_since(
        self, user_id: UUID, purpose: TokenPurpose, since: datetime
    ) -> int:
        statement = select(func.count()).where(
            one_time_tokens.c.user_id == user_id,
            one_time_tokens.c.purpose == purpose.value,
            one_time_tokens.c.created_at >= since,
        )
        return int((await self._connection.execute(statement)).scalar_one())

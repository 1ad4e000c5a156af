"""Authorization codes. Redeeming one is a single conditional UPDATE, so of two exchanges racing
with the same code the database lets exactly one through."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.tables import oauth_codes
from domain.authorization_code import AuthorizationCode


class SqlAlchemyAuthorizationCodeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, code: AuthorizationCode) -> None:
        await self._connection.execute(
            insert(oauth_codes).values(
                id=code.id,
                code_hash=code.code_hash,
                client_id=code.client_id,
                user_id=code.user_id,
                redirect_uri=code.redirect_uri,
                scope=code.scopes,
                nonce=code.nonce,
                code_challenge=code.code_challenge,
                auth_time=code.auth_time,
                amr=code.amr,
                browser_session_id=code.browser_session_id,
                created_at=code.created_at,
                expires_at=code.expires_at,
                used_at=code.used_at,
                issued_session_id=code.issued_session_id,
            )
        )

    async def redeem(self, code_hash: str, now: datetime) -> AuthorizationCode | None:
        statement = (
            update(oauth_codes)
            .where(
                oauth_codes.c.code_hash == code_hash,
                oauth_codes.c.used_at.is_(None),
                oauth_codes.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(*oauth_codes.c)
        )
        row = (await self._connection.execute(statement)).first()
        return _code(row) if row else None

    async def find_spent(self, code_hash: str) -> AuthorizationCode | None:
        statement = select(oauth_codes).where(
            oauth_codes.c.code_hash == code_hash, oauth_codes.c.used_at.is_not(None)
        )
        row = (await self._connection.execute(statement)).first()
        return _code(row) if row else None

    async def record_issued_session(self, code_id: UUID, session_id: UUID) -> None:
        await self._connection.execute(
            update(oauth_codes)
            .where(oauth_codes.c.id == code_id)
            .values(issued_session_id=session_id)
        )

    async def prune(self, *, expired_before: datetime) -> int:
        result = await self._connection.execute(
            delete(oauth_codes).where(oauth_codes.c.expires_at <= expired_before)
        )
        return result.rowcount


def _code(row: Row[Any]) -> AuthorizationCode:
    return AuthorizationCode(
        id=row.id,
        code_hash=row.code_hash,
        client_id=row.client_id,
        user_id=row.user_id,
        redirect_uri=row.redirect_uri,
        scopes=row.scope,
        nonce=row.nonce,
        code_challenge=row.code_challenge,
        auth_time=row.auth_time,
        amr=row.amr,
        browser_session_id=row.browser_session_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        issued_session_id=row.issued_session_id,
    )

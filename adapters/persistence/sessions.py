from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    delete,
    exists,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.tables import rotated_refresh_tokens, sessions
from domain.session import Session, SessionKind
from domain.session_scope import SessionScope


def session_from_row(row: Row[Any]) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        refresh_token_hash=row.refresh_token_hash,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        user_agent=row.user_agent,
        ip=row.ip,
        revoked_at=row.revoked_at,
        amr=row.amr,
        kind=SessionKind(row.kind),
        client_id=row.client_id,
        scopes=row.scope,
        parent_session_id=row.parent_session_id,
        auth_time=row.auth_time,
    )


_parents = sessions.alias("parent")


def usable_at(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Session.is_usable_under, as SQL: neither revoked nor expired, and within a parent that is
    neither, if it has one."""
    parent_usable = exists().where(
        _parents.c.id == sessions.c.parent_session_id,
        _parents.c.revoked_at.is_(None),
        _parents.c.expires_at > now,
    )
    return (
        sessions.c.revoked_at.is_(None)
        & (sessions.c.expires_at > now)
        & or_(sessions.c.parent_session_id.is_(None), parent_usable)
    )


def _in_scope(scope: SessionScope) -> ColumnElement[bool]:
    """SessionScope.includes, as SQL."""
    condition = (sessions.c.user_id == scope.user_id) & sessions.c.revoked_at.is_(None)
    if scope.only is not None:
        return condition & (sessions.c.id == scope.only)
    if scope.all_but is not None:
        return condition & (sessions.c.id != scope.all_but)
    return condition & true()


class SqlAlchemySessionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, session: Session) -> None:
        values = asdict(session)
        values["scope"] = values.pop("scopes")
        await self._connection.execute(insert(sessions).values(**values))

    async def revoke(self, scope: SessionScope, now: datetime) -> int:
        result = await self._connection.execute(
            update(sessions).where(_in_scope(scope)).values(revoked_at=now)
        )
        return result.rowcount

    async def revoke_of_client(self, user_id: UUID, client_id: str, now: datetime) -> int:
        result = await self._connection.execute(
            update(sessions)
            .where(
                sessions.c.user_id == user_id,
                sessions.c.client_id == client_id,
                sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return result.rowcount

    async def rotate_refresh_token(
        self,
        presented_hash: str,
        new_hash: str,
        now: datetime,
        kind: SessionKind = SessionKind.API,
    ) -> Session | None:
        statement = (
            update(sessions)
            .where(
                sessions.c.refresh_token_hash == presented_hash,
                sessions.c.kind == kind,
                usable_at(now),
            )
            .values(refresh_token_hash=new_hash, last_used_at=now)
            .returning(*sessions.c)
        )
        row = (await self._connection.execute(statement)).first()
        if row is None:
            return None
        await self._connection.execute(
            insert(rotated_refresh_tokens).values(
                token_hash=presented_hash, session_id=row.id, rotated_at=now
            )
        )
        return session_from_row(row)

    async def find_usable_by_token(
        self, token_hash: str, kind: SessionKind, now: datetime
    ) -> Session | None:
        statement = select(sessions).where(
            sessions.c.refresh_token_hash == token_hash, sessions.c.kind == kind, usable_at(now)
        )
        row = (await self._connection.execute(statement)).first()
        return session_from_row(row) if row else None

    async def find_usable_oauth_session(self, session_id: UUID, now: datetime) -> Session | None:
        statement = select(sessions).where(
            sessions.c.id == session_id, sessions.c.kind == SessionKind.OAUTH, usable_at(now)
        )
        row = (await self._connection.execute(statement)).first()
        return session_from_row(row) if row else None

    async def find_by_rotated_token(self, token_hash: str) -> Session | None:
        statement = (
            select(sessions)
            .join(rotated_refresh_tokens, rotated_refresh_tokens.c.session_id == sessions.c.id)
            .where(rotated_refresh_tokens.c.token_hash == token_hash)
        )
        row = (await self._connection.execute(statement)).first()
        return session_from_row(row) if row else None

    async def list_usable_of_user(self, user_id: UUID, now: datetime) -> list[Session]:
        statement = (
            select(sessions)
            .where(sessions.c.user_id == user_id, usable_at(now))
            .order_by(sessions.c.created_at.desc(), sessions.c.id)
        )
        return [session_from_row(row) for row in await self._connection.execute(statement)]

    async def prune(self, *, expired_before: datetime, revoked_before: datetime) -> int:
        result = await self._connection.execute(
            delete(sessions).where(
                or_(
                    sessions.c.expires_at <= expired_before, sessions.c.revoked_at <= revoked_before
                )
            )
        )
        return result.rowcount

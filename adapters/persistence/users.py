from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.errors import violates_unique
from adapters.persistence.tables import users
from application.errors import EmailAlreadyRegistered, NotFound
from application.pagination import Position
from application.ports.persistence import UserFilter
from domain.email import Email
from domain.role import Role
from domain.user import User


def user_from_row(row: Row[Any]) -> User:
    return user_from_mapping(row._mapping)


def user_from_mapping(row: Mapping[Any, Any]) -> User:
    """From a row of the users table, its values as SQLAlchemy's column types give them."""
    return User(
        id=row["id"],
        email=Email(row["email"]),
        password_hash=row["password_hash"],
        name=row["name"],
        role=Role(row["role"]),
        is_active=row["is_active"],
        is_verified=row["is_verified"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        mfa_enabled=row["mfa_enabled"],
    )


def _values(user: User) -> dict[str, Any]:
    return {
        "email": user.email.value,
        "password_hash": user.password_hash,
        "name": user.name,
        "role": user.role.value,
        "is_active": user.is_active,
        "is_verified": user.is_verified,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "mfa_enabled": user.mfa_enabled,
    }


# Built once: building a statement and its cache key costs more than running it. The UPDATE
# takes its SET clause from the parameters given, so one statement writes any set of columns.
_BY_ID = select(users).where(users.c.id == bindparam("user_id"))
_UPDATE_BY_ID = update(users).where(users.c.id == bindparam("user_id"))


class SqlAlchemyUserRepository:
    """Remembers each user as it was read or written in this unit of work, so that `save`
    writes only what changed since: a rename cannot overwrite a concurrent change to another
    column, and the usual edit is one short statement."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._as_stored: dict[UUID, dict[str, Any]] = {}

    async def add(self, user: User) -> None:
        values = _values(user)
        await self._write(insert(users).values(id=user.id, **values))
        self._as_stored[user.id] = values

    async def get(self, user_id: UUID) -> User | None:
        row = (await self._connection.execute(_BY_ID, {"user_id": user_id})).first()
        return self._loaded(row)

    async def get_for_update(self, user_id: UUID) -> User | None:
        statement = select(users).where(users.c.id == user_id).with_for_update()
        return self._loaded((await self._connection.execute(statement)).first())

    async def get_by_email(self, email: Email) -> User | None:
        result = await self._connection.execute(select(users).where(users.c.email == email.value))
        return self._loaded(result.first())

    def track(self, user: User) -> User:
        self._as_stored[user.id] = _values(user)
        return copy.copy(user)

    async def save(self, user: User) -> None:
        values = _values(user)
        before = self._as_stored.get(user.id)
        changed = {
            column: value
            for column, value in values.items()
            if before is None or before.get(column) != value
        }
        if not changed:
            return
        if not await self._write(_UPDATE_BY_ID, {"user_id": user.id, **changed}):
            raise NotFound("user")
        self._as_stored[user.id] = values

    async def delete(self, user_id: UUID) -> None:
        await self._connection.execute(delete(users).where(users.c.id == user_id))
        self._as_stored.pop(user_id, None)

    async def list_page(
        self, filter: UserFilter, *, after: Position | None, limit: int
    ) -> list[User]:
        statement = select(users).where(*_matching(filter))
        if after is not None:
            # A plain tuple, so the values are bound with the columns' types (UtcDateTime turns
            # any offset into UTC; SQLite compares the stored text).
            statement = statement.where(
                tuple_(users.c.created_at, users.c.id) > (after.created_at, after.id)
            )
        statement = statement.order_by(users.c.created_at, users.c.id).limit(limit)
        rows = await self._connection.execute(statement)
        return [user for row in rows if (user := self._loaded(row)) is not None]

    async def lock_active_admins(self) -> set[UUID]:
        # FOR UPDATE on PostgreSQL; SQLite ignores it, and needs nothing: its writers queue.
        statement = select(users.c.id).where(*_active_admins()).with_for_update()
        return set((await self._connection.execute(statement)).scalars())

    async def active_admins(self) -> set[UUID]:
        statement = select(users.c.id).where(*_active_admins())
        return set((await self._connection.execute(statement)).scalars())

    def _loaded(self, row: Row[Any] | None) -> User | None:
        if row is None:
            return None
        user = user_from_row(row)
        self._as_stored[user.id] = _values(user)
        return user

    async def _write(self, statement: Any, parameters: dict[str, Any] | None = None) -> int:
        """The number of rows written."""
        try:
            return (await self._connection.execute(statement, parameters)).rowcount
        except IntegrityError as error:
            if violates_unique(error, "users", "email"):
                raise EmailAlreadyRegistered() from None
            raise


def _active_admins() -> tuple[ColumnElement[bool], ...]:
    return (users.c.role == Role.ADMIN.value, users.c.is_active.is_(True))


def _matching(filter: UserFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filter.q:
        pattern = f"%{_escape_like(filter.q.lower())}%"
        conditions.append(
            or_(
                users.c.email.like(pattern, escape="\\"),
                func.lower(users.c.name).like(pattern, escape="\\"),
            )
        )
    if filter.role is not None:
        conditions.append(users.c.role == filter.role.value)
    if filter.is_active is not None:
        conditions.append(users.c.is_active.is_(filter.is_active))
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
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
from application.errors import EmailAlreadyRegistered
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
    }


# Statements every request of a kind runs, built once: building one and its cache key costs
# more than running it (issue 7, measured on PostgreSQL: ~125 us a statement).
_BY_ID = select(users).where(users.c.id == bindparam("user_id"))
_RENAME = (
    update(users)
    .where(users.c.id == bindparam("user_id"), users.c.is_active.is_(True))
    .values(name=bindparam("new_name"), updated_at=bindparam("renamed_at"))
    .returning(*users.c)
)


class SqlAlchemyUserRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, user: User) -> None:
        await self._write(insert(users).values(id=user.id, **_values(user)))

    async def get(self, user_id: UUID) -> User | None:
        row = (await self._connection.execute(_BY_ID, {"user_id": user_id})).first()
        return user_from_row(row) if row else None

    async def get_by_email(self, email: Email) -> User | None:
        result = await self._connection.execute(select(users).where(users.c.email == email.value))
        row = result.first()
        return user_from_row(row) if row else None

    async def save(self, user: User) -> None:
        await self._write(update(users).where(users.c.id == user.id).values(**_values(user)))

    async def rename(self, user_id: UUID, name: str | None, now: datetime) -> User | None:
        parameters = {"user_id": user_id, "new_name": name, "renamed_at": now}
        row = (await self._connection.execute(_RENAME, parameters)).first()
        return user_from_row(row) if row else None

    async def delete(self, user_id: UUID) -> None:
        await self._connection.execute(delete(users).where(users.c.id == user_id))

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
        return [user_from_row(row) for row in await self._connection.execute(statement)]

    async def lock_active_admins(self) -> set[UUID]:
        # FOR UPDATE on PostgreSQL; SQLite ignores it, and needs nothing: its writers queue.
        statement = select(users.c.id).where(*_active_admins()).with_for_update()
        return set((await self._connection.execute(statement)).scalars())

    async def active_admins(self) -> set[UUID]:
        statement = select(users.c.id).where(*_active_admins())
        return set((await self._connection.execute(statement)).scalars())

    async def _write(self, statement: Any) -> None:
        try:
            await self._connection.execute(statement)
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

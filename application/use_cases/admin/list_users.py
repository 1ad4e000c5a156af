from __future__ import annotations

from dataclasses import dataclass

from application.authorization import require_admin
from application.caller import Principal
from application.pagination import Page, Position, decode_cursor, encode_cursor
from application.ports.persistence import UnitOfWorkFactory, UserFilter
from domain.role import Role
from domain.user import User


@dataclass(frozen=True, slots=True)
class ListUsersQuery:
    """`q` matches a part of the email or the name, in any case; each criterion given narrows
    the list."""

    principal: Principal
    limit: int
    cursor: str | None = None
    q: str | None = None
    role: Role | None = None
    is_active: bool | None = None


class ListUsers:
    """An admin pages through accounts, optionally narrowed by text, role or active state."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListUsersQuery) -> Page[User]:
        require_admin(query.principal.user)
        after = decode_cursor(query.cursor)
        filter = UserFilter(q=query.q, role=query.role, is_active=query.is_active)
        async with self._uow() as uow:
            # One more than asked says whether another page exists.
            users = await uow.users.list_page(filter, after=after, limit=query.limit + 1)
        items = users[: query.limit]
        next_cursor = None
        if len(users) > query.limit:
            last = items[-1]
            next_cursor = encode_cursor(Position(created_at=last.created_at, id=last.id))
        return Page(items=items, next_cursor=next_cursor)

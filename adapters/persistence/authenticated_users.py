"""The read behind every authenticated request: the active user of a live session, in one
statement, outside any unit of work (see fast_reads for how it runs)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Dialect

from adapters.persistence.fast_reads import CompiledRead, FastReads
from adapters.persistence.tables import sessions, users
from adapters.persistence.users import user_from_mapping
from application.ports.persistence import AuthenticatedUserReader
from domain.user import User

AUTHENTICATED_USER = (
    select(users)
    .join(sessions, sessions.c.user_id == users.c.id)
    .where(
        sessions.c.id == bindparam("session_id"),
        sessions.c.user_id == bindparam("user_id"),
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > bindparam("now"),
        users.c.is_active.is_(True),
    )
)


class SqlAuthenticatedUserReader:
    def __init__(self, reads: FastReads, dialect: Dialect) -> None:
        self._reads = reads
        self._read = CompiledRead.for_dialect(AUTHENTICATED_USER, dialect, user_from_mapping)

    async def find(self, session_id: UUID, user_id: UUID, now: datetime) -> User | None:
        values = {"session_id": session_id, "user_id": user_id, "now": now}
        return await self._reads.fetch(self._read, values)


if TYPE_CHECKING:  # mypy fails here the moment the reader stops fitting the port
    _reader: type[AuthenticatedUserReader] = SqlAuthenticatedUserReader

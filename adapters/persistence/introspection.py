"""Introspection's read: the asking client and whether the token's session is live, in one
statement outside any unit of work (see fast_reads for how it runs)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.engine import Dialect

from adapters.persistence.fast_reads import CompiledRead, FastReads
from adapters.persistence.oauth_clients import client_from_mapping
from adapters.persistence.sessions import usable_at
from adapters.persistence.tables import oauth_clients, sessions, users
from application.ports.persistence import (
    IntrospectionFacts,
    IntrospectionReader,
    OAuthSessionOfToken,
)
from domain.session import SessionKind

_SESSION_LIVE = (
    exists()
    .where(
        sessions.c.id == bindparam("session_id"),
        sessions.c.user_id == bindparam("user_id"),
        sessions.c.client_id == bindparam("token_client_id"),
        sessions.c.kind == SessionKind.OAUTH.value,
        usable_at(bindparam("now")),
        users.c.id == sessions.c.user_id,
        users.c.is_active.is_(True),
    )
    .label("session_live")
)

ASKING_CLIENT_AND_SESSION = select(oauth_clients, _SESSION_LIVE).where(
    oauth_clients.c.client_id == bindparam("asking_client_id")
)


def _facts(row: Mapping[str, Any]) -> IntrospectionFacts:
    return IntrospectionFacts(client=client_from_mapping(row), session_live=row["session_live"])


class SqlIntrospectionReader:
    def __init__(self, reads: FastReads, dialect: Dialect) -> None:
        self._reads = reads
        self._read = CompiledRead.for_dialect(ASKING_CLIENT_AND_SESSION, dialect, _facts)

    async def read(
        self, asking_client_id: str, session: OAuthSessionOfToken, now: datetime
    ) -> IntrospectionFacts:
        values = {
            "asking_client_id": asking_client_id,
            "session_id": session.session_id,
            "user_id": session.user_id,
            "token_client_id": session.client_id,
            "now": now,
        }
        found = await self._reads.fetch(self._read, values)
        return found or IntrospectionFacts(client=None, session_live=False)


if TYPE_CHECKING:  # mypy fails here the moment the reader stops fitting the port
    _reader: type[IntrospectionReader] = SqlIntrospectionReader

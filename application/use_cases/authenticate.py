from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.errors import InvalidAccessToken
from application.ports.persistence import AuthenticatedUserReader
from application.ports.security import AccessTokens
from application.ports.system import Clock
from domain.user import User


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user as the database has them now, and the session they use."""

    user: User
    session_id: UUID


class Authenticate:
    """Turn a bearer token into a principal, deciding from the database, not the claims."""

    def __init__(
        self, authenticated_users: AuthenticatedUserReader, tokens: AccessTokens, clock: Clock
    ) -> None:
        self._authenticated_users = authenticated_users
        self._tokens = tokens
        self._clock = clock

    async def execute(self, access_token: str) -> Principal:
        claims = await self._tokens.verify(access_token)
        user = await self._authenticated_users.find(
            claims.session_id, claims.subject, self._clock.now()
        )
        if user is None:
            raise InvalidAccessToken()
        return Principal(user=user, session_id=claims.session_id)

from __future__ import annotations

from dataclasses import dataclass

from application.caller import Principal
from application.errors import InvalidAccessToken
from application.ports.persistence import AuthenticatedUserReader
from application.ports.security import AccessTokens
from application.ports.system import Clock


@dataclass(frozen=True, slots=True)
class AuthenticateCommand:
    access_token: str


class Authenticate:
    """Turn a bearer token into a principal, deciding from the database, not the claims."""

    def __init__(
        self, authenticated_users: AuthenticatedUserReader, tokens: AccessTokens, clock: Clock
    ) -> None:
        self._authenticated_users = authenticated_users
        self._tokens = tokens
        self._clock = clock

    async def execute(self, command: AuthenticateCommand) -> Principal:
        claims = await self._tokens.verify(command.access_token)
        user = await self._authenticated_users.find(
            claims.session_id, claims.subject, self._clock.now()
        )
        if user is None:
            raise InvalidAccessToken()
        return Principal(user=user, session_id=claims.session_id)

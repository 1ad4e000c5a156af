"""The UserInfo endpoint (OpenID Connect Core §5.3): the claims an OAuth access token's scopes
release about its person, while the session it was issued in lasts."""

from __future__ import annotations

from application.errors import InvalidAccessToken
from application.oidc_tokens import UserClaims, UserClaimValue
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import OAuthAccessTokens
from application.ports.system import Clock


class ReadUserInfo:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, tokens: OAuthAccessTokens) -> None:
        self._uow = uow
        self._clock = clock
        self._tokens = tokens

    async def execute(self, access_token: str) -> dict[str, UserClaimValue]:
        """The claims, `sub` first; InvalidAccessToken for a token that is not a live OAuth
        access token (an API access token among them)."""
        claims = await self._tokens.verify(access_token)
        async with self._uow() as uow:
            session = await uow.sessions.find_usable_oauth_session(
                claims.session_id, self._clock.now()
            )
            if (
                session is None
                or session.user_id != claims.subject
                or session.client_id != claims.client_id
            ):
                raise InvalidAccessToken()
            user = await uow.users.get(claims.subject)
        if user is None or not user.is_active:
            raise InvalidAccessToken()
        return {"sub": str(user.id), **UserClaims.released(user, claims.scope).as_claims()}

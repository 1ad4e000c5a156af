"""Who a browser's session cookie signs in, decided from the database on every page."""

from __future__ import annotations

from dataclasses import dataclass

from application.caller import Principal
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock
from application.secret_tokens import hash_secret_token
from domain.session import SessionKind


@dataclass(frozen=True, slots=True)
class AuthenticateBrowserQuery:
    session_secret: str


class AuthenticateBrowser:
    """The principal of a usable browser session whose account is active, else None: a revoked,
    expired or unknown cookie, or one of an API session, is simply not signed in."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, query: AuthenticateBrowserQuery) -> Principal | None:
        now = self._clock.now()
        async with self._uow() as uow:
            session = await uow.sessions.find_usable_by_token(
                hash_secret_token(query.session_secret), SessionKind.BROWSER, now
            )
            user = await uow.users.get(session.user_id) if session else None
        if session is None or user is None or not user.is_active:
            return None
        return Principal(user=user, session_id=session.id)

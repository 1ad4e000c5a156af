"""Opening a session: what a login stores, and the refresh token only its device will hold."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.caller import Caller
from application.ports.system import IdGenerator
from application.secret_tokens import hash_secret_token, new_secret_token
from application.tokens import TokenLifetimes
from domain.auth_method import AuthMethods
from domain.session import Session


def new_session(
    ids: IdGenerator,
    lifetimes: TokenLifetimes,
    user_id: UUID,
    caller: Caller,
    amr: AuthMethods,
    now: datetime,
) -> tuple[Session, str]:
    refresh_token = new_secret_token()
    session = Session(
        id=ids.new_id(),
        user_id=user_id,
        refresh_token_hash=hash_secret_token(refresh_token),
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetimes.refresh,
        user_agent=caller.user_agent,
        ip=caller.ip,
        amr=amr,
    )
    return session, refresh_token

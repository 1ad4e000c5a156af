"""Opening a session: what a login stores, and the refresh token only its device will hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.caller import Caller
from application.ports.system import IdGenerator
from application.secret_tokens import hash_secret_token, new_secret_token
from application.tokens import TokenLifetimes
from domain.auth_method import AuthMethods
from domain.oauth_scope import Scopes
from domain.session import Session, SessionKind


@dataclass(frozen=True, slots=True)
class OAuthSessionTerms:
    """What an OAuth session holds beyond an API one: its client and scopes, the browser
    session it ends with (None when it outlives it), and when its person signed in."""

    client_id: str
    scopes: Scopes
    parent_session_id: UUID | None
    auth_time: datetime


def new_session(
    ids: IdGenerator,
    lifetimes: TokenLifetimes,
    user_id: UUID,
    caller: Caller,
    amr: AuthMethods,
    now: datetime,
    kind: SessionKind = SessionKind.API,
    *,
    oauth: OAuthSessionTerms | None = None,
) -> tuple[Session, str]:
    """A session and its secret: the refresh token of an API or OAuth client, or the cookie of
    a browser."""
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
        kind=kind,
    )
    if oauth is not None:
        session.client_id = oauth.client_id
        session.scopes = oauth.scopes
        session.parent_session_id = oauth.parent_session_id
        session.auth_time = oauth.auth_time
    return session, refresh_token

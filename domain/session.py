"""A login session: one device's refresh token and the access tokens minted from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.auth_method import PASSWORD_ONLY, AuthMethods
from domain.oauth_scope import Scopes


class SessionKind(StrEnum):
    """Who holds the session's secret. An API client holds a refresh token it trades for access
    tokens; a browser holds it in a cookie that only the pages accept, and never trades it; a
    registered OAuth client holds the tokens the token endpoint issued it for the account."""

    API = "api"
    BROWSER = "browser"
    OAUTH = "oauth"


@dataclass(slots=True)
class Session:
    id: UUID
    user_id: UUID
    refresh_token_hash: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    revoked_at: datetime | None = None
    amr: AuthMethods = PASSWORD_ONLY  # how the session was opened; every token of it says so
    kind: SessionKind = SessionKind.API
    client_id: str | None = None  # the OAuth client it was issued to; it ends with the client
    scopes: Scopes | None = None  # what its OAuth client was granted
    # The browser session an OAuth session was authorized from, when it lives only as long as
    # that one (granted without offline_access).
    parent_session_id: UUID | None = None
    auth_time: datetime | None = None  # when the person last signed in, for an ID token's claim

    def is_usable(self, now: datetime) -> bool:
        """Its own state only: a session with a parent needs is_usable_under too."""
        return self.revoked_at is None and now < self.expires_at

    def is_usable_under(self, parent: Session | None, now: datetime) -> bool:
        """Usable, and so is the session it lives within, if any (`parent` is that one, or None
        when it is gone)."""
        if not self.is_usable(now):
            return False
        if self.parent_session_id is None:
            return True
        return parent is not None and parent.id == self.parent_session_id and parent.is_usable(now)

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now

    def rotate(self, refresh_token_hash: str, now: datetime) -> None:
        self.refresh_token_hash = refresh_token_hash
        self.last_used_at = now

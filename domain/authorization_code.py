"""The code an authorization hands to a client through the browser, which the client trades,
once, for tokens: who signed in and how, for which client, redirect URI and scopes.

The code itself is a random secret given to the client; only its hash is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from domain.auth_method import AuthMethods
from domain.oauth_scope import Scope, Scopes
from domain.pkce import is_valid_s256_challenge, verifies_s256

# OAuth 2.0 §4.1.2 recommends at most ten minutes; a code crosses one redirect and is traded at
# once, so a minute is ample and leaves a stolen one little time.
CODE_LIFETIME = timedelta(seconds=60)
MAX_NONCE_LENGTH = 255


@dataclass(slots=True)
class AuthorizationCode:
    """`browser_session_id` is the browser session the person authorized from; an exchange
    without `offline_access` opens a session that ends with it. `issued_session_id` is the
    session the exchange opened, so that a second use of the code can revoke it."""

    id: UUID
    code_hash: str
    client_id: str
    user_id: UUID
    redirect_uri: str
    scopes: Scopes
    nonce: str | None
    code_challenge: str | None
    auth_time: datetime
    amr: AuthMethods
    browser_session_id: UUID
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    issued_session_id: UUID | None = None

    @classmethod
    def issue(
        cls,
        *,
        id: UUID,
        code_hash: str,
        client_id: str,
        user_id: UUID,
        redirect_uri: str,
        scopes: Scopes,
        nonce: str | None,
        code_challenge: str | None,
        auth_time: datetime,
        amr: AuthMethods,
        browser_session_id: UUID,
        now: datetime,
    ) -> AuthorizationCode:
        """A code valid for CODE_LIFETIME. The request it answers was checked before: a nonce
        or a challenge that breaks these rules here is a bug, not a client's mistake."""
        if Scope.OPENID not in scopes:
            raise ValueError("an authorization code is for OpenID Connect: scopes hold openid")
        if nonce is not None and not 1 <= len(nonce) <= MAX_NONCE_LENGTH:
            raise ValueError(f"a nonce has 1 to {MAX_NONCE_LENGTH} characters")
        if code_challenge is not None and not is_valid_s256_challenge(code_challenge):
            raise ValueError("a code challenge is an S256 hash")
        return cls(
            id=id,
            code_hash=code_hash,
            client_id=client_id,
            user_id=user_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            nonce=nonce,
            code_challenge=code_challenge,
            auth_time=auth_time,
            amr=amr,
            browser_session_id=browser_session_id,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )

    @property
    def grants_offline_access(self) -> bool:
        """Whether the session its exchange opens outlives the browser session."""
        return Scope.OFFLINE_ACCESS in self.scopes

    def is_redeemable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at

    def is_bound_to(self, client_id: str, redirect_uri: str) -> bool:
        """Whether the exchange comes from the client the code was issued to, naming the
        redirect URI the code was sent to (compared as strings, exactly)."""
        return self.client_id == client_id and self.redirect_uri == redirect_uri

    def accepts_verifier(self, code_verifier: str | None) -> bool:
        """With a challenge, only its verifier; without one, no verifier at all (a verifier the
        authorization request never committed to proves nothing, RFC 9700 §2.1.1)."""
        if self.code_challenge is None:
            return code_verifier is None
        return code_verifier is not None and verifies_s256(code_verifier, self.code_challenge)

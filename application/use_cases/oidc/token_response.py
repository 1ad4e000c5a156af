"""What a successful token request answers (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3): an
access token of RFC 9068 and an ID token for the session, and its refresh token when it has
one to hand out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.oidc_tokens import IdTokenClaims, OAuthAccessTokenClaims, UserClaims
from application.ports.security import IdTokens, OAuthAccessTokens
from application.ports.system import IdGenerator
from application.tokens import TokenLifetimes
from domain.oauth_client import OAuthClient
from domain.oauth_scope import Scopes, format_scope
from domain.session import Session
from domain.user import User


@dataclass(frozen=True, slots=True)
class OAuthTokenResponse:
    access_token: str
    expires_in: int
    id_token: str
    scope: str
    refresh_token: str | None


@dataclass(frozen=True, slots=True)
class OAuthTokenIssuer:
    access_tokens: OAuthAccessTokens
    id_tokens: IdTokens
    ids: IdGenerator
    lifetimes: TokenLifetimes

    async def issue(
        self,
        *,
        client: OAuthClient,
        user: User,
        session: Session,
        scopes: Scopes,
        nonce: str | None,
        refresh_token: str | None,
        now: datetime,
    ) -> OAuthTokenResponse:
        """`scopes`: what these tokens carry, the session's or fewer."""
        scope = format_scope(scopes)
        # The ID token lives no longer than an access token: a retired signing key stays in the
        # JWKS only that long, and a relying party must be able to verify what it holds.
        expires_at = now + self.lifetimes.access
        access_token = await self.access_tokens.issue(
            OAuthAccessTokenClaims(
                subject=user.id,
                client_id=client.client_id,
                scope=tuple(scope.split(" ")),
                token_id=self.ids.new_id(),
                session_id=session.id,
                issued_at=now,
                expires_at=expires_at,
            )
        )
        id_token = await self.id_tokens.sign(
            IdTokenClaims(
                subject=user.id,
                client_id=client.client_id,
                session_id=session.id,
                issued_at=now,
                expires_at=expires_at,
                auth_time=session.auth_time or session.created_at,
                amr=session.amr,
                nonce=nonce,
                user=UserClaims.released(user, scope.split(" ")),
            ),
            client.id_token_signed_response_alg,
        )
        return OAuthTokenResponse(
            access_token=access_token,
            expires_in=int(self.lifetimes.access.total_seconds()),
            id_token=id_token,
            scope=scope,
            refresh_token=refresh_token,
        )

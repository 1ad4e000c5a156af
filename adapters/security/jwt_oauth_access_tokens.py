"""Access tokens issued to OAuth clients (RFC 9068) as JWS. Their audience is the client and
their issuer the OpenID issuer identifier, so the API (which checks for its own audience and
issuer, and requires a role) refuses them; and they carry client_id and scope, which the API's
own tokens lack, so they are refused here."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import jwt
from jwt.types import Options

from adapters.security.jwt_codec import LEEWAY, REFUSED, numeric_date, within_lifetime
from adapters.security.key_ring import KeyRing
from adapters.security.verified_tokens import VerifiedTokens
from application.errors import InvalidAccessToken
from application.oidc_tokens import OAuthAccessTokenClaims
from application.ports.system import Clock

TOKEN_TYPE = "at+jwt"  # noqa: S105
REQUIRED_CLAIMS = ["iss", "aud", "sub", "client_id", "scope", "jti", "iat", "exp", "sid"]
# RS256 is the one algorithm RFC 9068 (§2.1, §4) requires of every issuer and resource server,
# so any resource server's JOSE library verifies these tokens.
ALGORITHM = "RS256"

# The audience is compared with client_id below; the times on the injected clock.
_DECODE_OPTIONS: Options = {
    "require": REQUIRED_CLAIMS,
    "verify_aud": False,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}


class JwtOAuthAccessTokens:
    """`verified`: tokens that verified, which are not checked again until they expire (a
    resource server that introspects sends the same token with every request it serves)."""

    def __init__(
        self,
        keys: KeyRing,
        clock: Clock,
        verified: VerifiedTokens[OAuthAccessTokenClaims],
        *,
        issuer: str,
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._verified = verified
        self._issuer = issuer

    async def issue(self, claims: OAuthAccessTokenClaims) -> str:
        key = await self._keys.signing_key(ALGORITHM)
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": claims.client_id,
            "sub": str(claims.subject),
            "client_id": claims.client_id,
            "scope": " ".join(claims.scope),
            "jti": str(claims.token_id),
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "sid": str(claims.session_id),
        }
        headers = {"kid": key.kid, "typ": TOKEN_TYPE}
        return jwt.encode(payload, key.private, algorithm=key.algorithm, headers=headers)

    async def verify(self, token: str) -> OAuthAccessTokenClaims:
        claims = self._verified.get(token)
        if claims is not None:
            return claims
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidAccessToken() from None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("typ") != TOKEN_TYPE:
            raise InvalidAccessToken()
        key = await self._keys.verification_key(kid)
        if key is None:
            raise InvalidAccessToken()
        try:
            # The algorithm is the stored key's, never the one the token's header names.
            payload = jwt.decode(
                token,
                key.public,
                algorithms=[key.algorithm],
                issuer=self._issuer,
                options=_DECODE_OPTIONS,
            )
            client_id = payload["client_id"]
            if not isinstance(client_id, str) or payload["aud"] != client_id:
                raise InvalidAccessToken()
            claims = OAuthAccessTokenClaims(
                subject=UUID(payload["sub"]),
                client_id=client_id,
                scope=_scope(payload["scope"]),
                token_id=UUID(payload["jti"]),
                session_id=UUID(payload["sid"]),
                issued_at=numeric_date(payload["iat"]),
                expires_at=numeric_date(payload["exp"]),
            )
            not_before = numeric_date(payload["nbf"]) if "nbf" in payload else None
        except REFUSED:
            raise InvalidAccessToken() from None
        if not within_lifetime(
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
            not_before=not_before,
            now=self._clock.now(),
            leeway=LEEWAY,
        ):
            raise InvalidAccessToken()
        # Nothing is awaited between finding the key and remembering the token: a reload that
        # drops the key comes after, and forgets this token with the others of its key.
        self._verified.remember(token, claims, kid=key.kid, until=claims.expires_at + LEEWAY)
        return claims


def _scope(value: object) -> tuple[str, ...]:
    """RFC 9068 §2.2.3: the scopes granted, one string separated by spaces."""
    if not isinstance(value, str):
        raise TypeError("scope is a string")
    return tuple(value.split())

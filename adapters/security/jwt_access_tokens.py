"""The AccessTokens port over three parts: the key ring (which keys), the JWT codec (the token
format and its checks) and the verified tokens (what need not be checked again)."""

from __future__ import annotations

from typing import Any

from adapters.security.jwt_codec import JwtCodec
from adapters.security.key_ring import KeyRing
from adapters.security.verified_tokens import VerifiedTokens
from application.errors import InvalidAccessToken
from application.ports.security import AccessTokenClaims


class JwtAccessTokens:
    def __init__(
        self, keys: KeyRing, codec: JwtCodec, verified: VerifiedTokens[AccessTokenClaims]
    ) -> None:
        self._keys = keys
        self._codec = codec
        self._verified = verified

    async def issue(self, claims: AccessTokenClaims) -> str:
        return self._codec.sign(claims, await self._keys.signing_key())

    async def verify(self, token: str) -> AccessTokenClaims:
        claims = self._verified.get(token)
        if claims is not None:
            return claims
        key = await self._keys.verification_key(self._codec.kid_of(token))
        if key is None:
            raise InvalidAccessToken()
        claims = self._codec.verify(token, key)
        # Nothing is awaited between finding the key and remembering the token, so a reload
        # that drops the key either came first (no key, refused above) or comes after, and
        # then forgets this token with the others of its key.
        self._verified.remember(
            token, claims, kid=key.kid, until=claims.expires_at + self._codec.leeway
        )
        return claims

    async def public_jwks(self) -> list[dict[str, Any]]:
        return await self._keys.public_jwks()

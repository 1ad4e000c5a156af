"""ID tokens (OpenID Connect Core §2) as JWS, signed with the key ring's active key of the
client's algorithm; and the check of an `id_token_hint` at logout."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import jwt
from jwt.types import Options

from adapters.security.jwt_codec import REFUSED
from adapters.security.key_ring import KeyRing
from application.oidc_tokens import IdTokenClaims, IdTokenHint
from domain.oauth_client import IdTokenAlgorithm

# Plain "JWT": what relying parties expect of an ID token, and what keeps an access token
# (at+jwt) signed by the same keys from passing as a hint, and a hint from passing as one.
TOKEN_TYPE = "JWT"  # noqa: S105
_HINT_OPTIONS: Options = {
    "require": ["iss", "sub", "aud", "sid"],
    "verify_aud": False,  # the hint's audience is what it tells, not what is checked
    "verify_exp": False,  # an expired ID token is still a hint
    "verify_iat": False,
    "verify_nbf": False,
}


class JwtIdTokens:
    def __init__(self, keys: KeyRing, *, issuer: str) -> None:
        self._keys = keys
        self._issuer = issuer

    async def sign(self, claims: IdTokenClaims, algorithm: IdTokenAlgorithm) -> str:
        key = await self._keys.signing_key(algorithm.value)
        payload: dict[str, Any] = {
            # First, so that no claim about the person can stand in for a registered claim.
            **claims.user.as_claims(),
            "iss": self._issuer,
            "sub": str(claims.subject),
            "aud": claims.client_id,
            "exp": int(claims.expires_at.timestamp()),
            "iat": int(claims.issued_at.timestamp()),
            "auth_time": int(claims.auth_time.timestamp()),
            "amr": [method.value for method in claims.amr],
            "sid": str(claims.session_id),
        }
        if claims.nonce is not None:
            payload["nonce"] = claims.nonce
        headers = {"kid": key.kid, "typ": TOKEN_TYPE}
        return jwt.encode(payload, key.private, algorithm=key.algorithm, headers=headers)

    async def verify_hint(self, token: str) -> IdTokenHint | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("typ") != TOKEN_TYPE:
            return None
        key = await self._keys.verification_key(kid)
        if key is None:
            return None
        try:
            # The algorithm is the stored key's, never the one the token's header names.
            payload = jwt.decode(
                token,
                key.public,
                algorithms=[key.algorithm],
                issuer=self._issuer,
                options=_HINT_OPTIONS,
            )
            audience = payload["aud"]
            if not isinstance(audience, str):
                return None
            return IdTokenHint(
                subject=UUID(payload["sub"]),
                client_id=audience,
                session_id=UUID(payload["sid"]),
            )
        except REFUSED:
            return None

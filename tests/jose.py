"""Verification as a relying party or a resource server does it, with jwcrypto: a JOSE library
that shares no code with PyJWT (which signs) nor with Authlib."""

from __future__ import annotations

import json
from typing import Any

from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt


def verify_independently(
    token: str, jwks: dict[str, Any], *, algorithm: str, **expected: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a token that verifies with the key its kid names in `jwks`,
    under `algorithm` alone, unexpired, with each `expected` claim present and equal."""
    keys = jwk.JWKSet.from_json(json.dumps(jwks))
    verified = jwcrypto_jwt.JWT(
        jwt=token,
        key=keys,
        algs=[algorithm],
        check_claims={"exp": None, **expected},
        expected_type="JWS",
    )
    header: dict[str, Any] = json.loads(verified.header)
    claims: dict[str, Any] = json.loads(verified.claims)
    return header, claims

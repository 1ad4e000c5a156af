"""Access tokens as compact JWS (RFC 9068 profile): signing, and checking the signature and
every claim, with keys handed in by the caller. No storage and no state besides settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeAlias
from uuid import UUID

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.types import Options

from application.errors import InvalidAccessToken
from application.ports.security import AccessTokenClaims
from application.ports.system import Clock
from domain.auth_method import AuthMethod, AuthMethods
from domain.role import Role
from domain.signing_key import SigningKey

# RFC 9068's typ keeps any other JWT signed by these keys from passing as an access token.
TOKEN_TYPE = "at+jwt"  # noqa: S105
REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "role", "amr"]
# Room for clocks of the issuing and the verifying replica that disagree a little.
LEEWAY = timedelta(seconds=10)

# PyJWT checks the signature, the issuer, the audience, that every claim is present, and that
# sub and jti are strings; the times are checked below, on the injected clock.
_DECODE_OPTIONS: Options = {
    "require": REQUIRED_CLAIMS,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}
# Besides PyJWT's own errors, what a hostile payload can make the claim conversions raise:
# UUID() of a number or a list (AttributeError, TypeError), an unknown role (ValueError), a
# time past any calendar (OverflowError, OSError, ValueError).
REFUSED = (
    jwt.PyJWTError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    OverflowError,
    OSError,
)

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey


@dataclass(frozen=True, slots=True)
class JwtKey:
    """A stored signing key, parsed: what signing and verifying need."""

    kid: str
    algorithm: str
    private: PrivateKey
    public: PublicKey

    @classmethod
    def of(cls, stored: SigningKey) -> JwtKey:
        # OpenSSL's checks of an RSA key (primality of its factors above all) take a quarter
        # of a second for 3072 bits, paid by every process for every key at every start. A
        # signature made and verified checks what matters here, that the key signs correctly,
        # for a hundredth of that.
        private = load_pem_private_key(
            stored.private_key_pem.encode("ascii"),
            password=None,
            unsafe_skip_rsa_key_validation=True,
        )
        if not isinstance(
            private, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
        ):
            raise ValueError(f"signing key {stored.kid} is not an EC, Ed25519 or RSA key")
        if isinstance(private, rsa.RSAPrivateKey):
            _check_signs_correctly(private, stored.kid)
        return cls(
            kid=stored.kid,
            algorithm=stored.algorithm,
            private=private,
            public=private.public_key(),
        )


class JwtCodec:
    def __init__(
        self, clock: Clock, *, issuer: str, audience: str, leeway: timedelta = LEEWAY
    ) -> None:
        self._clock = clock
        self._issuer = issuer
        self._audience = audience
        self.leeway = leeway

    def sign(self, claims: AccessTokenClaims, key: JwtKey) -> str:
        payload = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(claims.subject),
            "sid": str(claims.session_id),
            "jti": str(claims.token_id),
            "role": claims.role.value,
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "amr": [method.value for method in claims.amr],
        }
        headers = {"kid": key.kid, "typ": TOKEN_TYPE}
        return jwt.encode(payload, key.private, algorithm=key.algorithm, headers=headers)

    def kid_of(self, token: str) -> str:
        """The kid in the header of what claims to be an access token, unverified: which key to
        check it with. Raises InvalidAccessToken for anything else."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidAccessToken() from None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("typ") != TOKEN_TYPE:
            raise InvalidAccessToken()
        return kid

    def verify(self, token: str, key: JwtKey) -> AccessTokenClaims:
        """The claims of a token signed by this key and acceptable now; else InvalidAccessToken."""
        try:
            # The algorithm is the stored key's, never the one the token's header names.
            payload = jwt.decode(
                token,
                key.public,
                algorithms=[key.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options=_DECODE_OPTIONS,
            )
            claims = AccessTokenClaims(
                subject=UUID(payload["sub"]),
                session_id=UUID(payload["sid"]),
                token_id=UUID(payload["jti"]),
                role=Role(payload["role"]),
                issued_at=numeric_date(payload["iat"]),
                expires_at=numeric_date(payload["exp"]),
                amr=auth_methods(payload["amr"]),
            )
            not_before = numeric_date(payload["nbf"]) if "nbf" in payload else None
        except REFUSED:
            raise InvalidAccessToken() from None
        if not within_lifetime(
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
            not_before=not_before,
            now=self._clock.now(),
            leeway=self.leeway,
        ):
            raise InvalidAccessToken()
        return claims


def _check_signs_correctly(private: rsa.RSAPrivateKey, kid: str) -> None:
    message = b"portcullis signing key check"
    signature = private.sign(message, padding.PKCS1v15(), hashes.SHA256())
    try:
        private.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise ValueError(f"signing key {kid} is not a consistent RSA key") from None


def within_lifetime(
    *,
    issued_at: datetime,
    expires_at: datetime,
    not_before: datetime | None,
    now: datetime,
    leeway: timedelta,
) -> bool:
    """Not expired, not issued in the future, and not before its `nbf`, within the leeway."""
    return (
        expires_at > now - leeway
        and issued_at <= now + leeway
        and (not_before is None or not_before <= now + leeway)
    )


def numeric_date(value: object) -> datetime:
    """RFC 7519's NumericDate: seconds since the epoch, a JSON number (never text, never a
    boolean, never infinite)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("a NumericDate is a number")
    return datetime.fromtimestamp(value, UTC)


def auth_methods(value: object) -> AuthMethods:
    """`amr` as a non-empty list of the methods this service names; anything else is refused."""
    if not isinstance(value, list) or not value:
        raise ValueError("amr is not a non-empty list")
    return tuple(AuthMethod(method) for method in value)

"""The JWT codec on a fake clock: the times of a token are judged by the injected clock, with
the leeway, and nothing else. (Forgeries are tried on real stored keys in
tests/integration/test_jwt_access_tokens.py.)"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.security.jwt_codec import LEEWAY, JwtCodec, JwtKey
from adapters.security.signing_key_factory import CryptographySigningKeyFactory
from application.errors import InvalidAccessToken
from application.ports.security import AccessTokenClaims
from domain.auth_method import (
    PASSWORD_AND_RECOVERY_CODE,
    PASSWORD_AND_TOTP,
    PASSWORD_ONLY,
    AuthMethods,
)
from domain.role import Role
from tests.fakes import FixedClock

ISSUER = "https://portcullis.test"
AUDIENCE = "portcullis-api"
# Far from the machine's own time: a codec that read the system clock would refuse everything.
LONG_AGO = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)


@cache
def key(algorithm: str = "ES256") -> JwtKey:
    return JwtKey.of(CryptographySigningKeyFactory().generate(algorithm, LONG_AGO))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(LONG_AGO)


@pytest.fixture
def codec(clock: FixedClock) -> JwtCodec:
    return JwtCodec(clock, issuer=ISSUER, audience=AUDIENCE)


def claims_issued_at(issued_at: datetime, lifetime: timedelta) -> AccessTokenClaims:
    return AccessTokenClaims(
        subject=uuid4(),
        session_id=uuid4(),
        token_id=uuid4(),
        role=Role.ADMIN,
        issued_at=issued_at,
        expires_at=issued_at + lifetime,
        amr=PASSWORD_ONLY,
    )


def a_payload(clock: FixedClock) -> dict[str, Any]:
    """Every claim an access token needs, issued now for 15 minutes."""
    now = int(clock.now().timestamp())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid4()),
        "sid": str(uuid4()),
        "jti": str(uuid4()),
        "role": "user",
        "amr": ["pwd"],
        "iat": now,
        "exp": now + 900,
    }


def signed(payload: dict[str, Any], signing_key: JwtKey) -> str:
    return jwt.encode(
        payload,
        signing_key.private,
        algorithm=signing_key.algorithm,
        headers={"kid": signing_key.kid, "typ": "at+jwt"},
    )


def with_exact_header(header: dict[str, Any], payload: dict[str, Any], signing_key: JwtKey) -> str:
    """A compact JWS with this header and nothing added (PyJWT would refuse some of them)."""

    def part(value: dict[str, Any]) -> str:
        encoded = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(encoded).rstrip(b"=").decode()

    message = f"{part(header)}.{part(payload)}"
    signature = jwt.get_algorithm_by_name(signing_key.algorithm).sign(
        message.encode(), signing_key.private
    )
    return f"{message}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "RS256"])
def test_what_it_signs_it_verifies_to_the_same_claims(
    codec: JwtCodec, clock: FixedClock, algorithm: str
) -> None:
    claims = claims_issued_at(clock.now(), timedelta(minutes=15))

    token = codec.sign(claims, key(algorithm))

    assert codec.kid_of(token) == key(algorithm).kid
    assert codec.verify(token, key(algorithm)) == claims


def test_a_token_expires_by_the_injected_clock_after_the_leeway(
    codec: JwtCodec, clock: FixedClock
) -> None:
    token = codec.sign(claims_issued_at(clock.now(), timedelta(seconds=60)), key())

    clock.advance(seconds=60 + LEEWAY.total_seconds() - 0.001)
    codec.verify(token, key())

    clock.advance(seconds=0.001)
    with pytest.raises(InvalidAccessToken):
        codec.verify(token, key())


def test_a_token_issued_later_than_the_clock_reads_is_refused_beyond_the_leeway(
    codec: JwtCodec, clock: FixedClock
) -> None:
    within = codec.sign(claims_issued_at(clock.now() + LEEWAY, timedelta(minutes=15)), key())
    beyond = codec.sign(
        claims_issued_at(clock.now() + LEEWAY + timedelta(seconds=1), timedelta(minutes=15)),
        key(),
    )

    codec.verify(within, key())
    with pytest.raises(InvalidAccessToken):
        codec.verify(beyond, key())


def test_a_not_before_later_than_the_clock_reads_is_refused_beyond_the_leeway(
    codec: JwtCodec, clock: FixedClock
) -> None:
    now = int(clock.now().timestamp())
    payload = a_payload(clock)

    codec.verify(signed(payload | {"nbf": now + 10}, key()), key())
    with pytest.raises(InvalidAccessToken):
        codec.verify(signed(payload | {"nbf": now + 11}, key()), key())
    with pytest.raises(InvalidAccessToken):
        codec.verify(signed(payload | {"nbf": "soon"}, key()), key())


@pytest.mark.parametrize("amr", [PASSWORD_ONLY, PASSWORD_AND_TOTP, PASSWORD_AND_RECOVERY_CODE])
def test_the_methods_that_opened_the_session_travel_in_amr(
    codec: JwtCodec, clock: FixedClock, amr: AuthMethods
) -> None:
    claims = replace(claims_issued_at(clock.now(), timedelta(minutes=15)), amr=amr)

    token = codec.sign(claims, key())

    assert jwt.decode(token, options={"verify_signature": False})["amr"] == list(amr)
    assert codec.verify(token, key()).amr == amr


@pytest.mark.parametrize("amr", [[], "pwd", ["sms"], ["pwd", 1], None, {"pwd": True}])
def test_a_token_whose_amr_is_not_a_list_of_known_methods_is_refused(
    codec: JwtCodec, clock: FixedClock, amr: object
) -> None:
    payload = a_payload(clock) | {"amr": amr}

    with pytest.raises(InvalidAccessToken):
        codec.verify(signed(payload, key()), key())


def test_the_key_given_decides_the_algorithm_and_the_signature(
    codec: JwtCodec, clock: FixedClock
) -> None:
    token = codec.sign(claims_issued_at(clock.now(), timedelta(minutes=15)), key("ES256"))

    with pytest.raises(InvalidAccessToken):
        codec.verify(token, key("EdDSA"))


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"typ": "at+jwt"}, id="no-kid"),
        pytest.param({"typ": "at+jwt", "kid": 7}, id="kid-not-text"),
        pytest.param({"kid": "k1"}, id="no-typ"),
        pytest.param({"kid": "k1", "typ": "JWT"}, id="another-typ"),
    ],
)
def test_the_kid_is_read_only_from_what_claims_to_be_an_access_token(
    codec: JwtCodec, header: dict[str, Any]
) -> None:
    token = with_exact_header({"alg": "ES256", **header}, {"sub": "x"}, key())

    with pytest.raises(InvalidAccessToken):
        codec.kid_of(token)


@pytest.mark.parametrize("token", ["", "junk", "a.b.c", "a.b.c.d.e"])
def test_the_kid_of_what_is_not_a_jws_is_refused(codec: JwtCodec, token: str) -> None:
    with pytest.raises(InvalidAccessToken):
        codec.kid_of(token)


def test_a_stored_rsa_key_that_does_not_sign_correctly_is_refused_when_loaded() -> None:
    """The stored key's own checks are skipped for speed; a signature round trip stands in."""
    stored = CryptographySigningKeyFactory().generate("RS256", LONG_AGO)
    private = JwtKey.of(stored).private
    assert isinstance(private, rsa.RSAPrivateKey)
    numbers = private.private_numbers()
    # Damaged exponents (OpenSSL already falls back to d when a CRT exponent alone is wrong).
    broken = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=numbers.d ^ 4,
        dmp1=numbers.dmp1 ^ 4,
        dmq1=numbers.dmq1 ^ 4,
        iqmp=numbers.iqmp,
        public_numbers=numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    pem = broken.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")

    with pytest.raises(ValueError, match="not a consistent RSA key"):
        JwtKey.of(replace(stored, private_key_pem=pem))

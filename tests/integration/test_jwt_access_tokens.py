"""Access tokens over real keys in a real database, through the AccessTokens adapter (the key
ring, the JWT codec and the verified tokens together): what is issued verifies, tokens that
verified are remembered, and every forgery is refused with InvalidAccessToken (never another
exception). The key ring's own behaviour is in test_key_ring.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA384
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.tables import signing_keys
from adapters.security.jwt_access_tokens import JwtAccessTokens
from adapters.security.jwt_codec import LEEWAY, JwtCodec
from adapters.security.key_ring import KeyRing
from adapters.security.signing_key_factory import CryptographySigningKeyFactory
from adapters.security.verified_tokens import VERIFIED_TOKENS_SIZE, VerifiedTokens
from adapters.system.clock import SystemClock
from application.errors import InvalidAccessToken
from application.ports.security import AccessTokenClaims, SigningKeyFactory
from application.ports.system import Clock
from domain.auth_method import PASSWORD_ONLY
from domain.role import Role
from domain.signing_key import SigningKey
from tests.fakes import FixedClock
from tests.integration.conftest import UowFactory, sql_only
from tests.integration.key_rings import TTL, ring_after_first_start
from tests.integration.key_rings import clock as clock  # a fixture: pytest finds it here

ISSUER = "https://portcullis.test"
AUDIENCE = "portcullis-api"
ALGORITHMS = ["ES256", "EdDSA", "RS256"]
REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "role", "amr"]
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@dataclass
class Setup:
    tokens: JwtAccessTokens
    keys: KeyRing
    verified: VerifiedTokens[AccessTokenClaims]
    key: SigningKey

    @cached_property
    def private_key(self) -> Any:
        return load_pem_private_key(self.key.private_key_pem.encode(), password=None)


@asynccontextmanager
async def set_up(
    uow_factory: UowFactory,
    factory: SigningKeyFactory,
    algorithm: str,
    *,
    clock: Clock | None = None,
    remembered: int = VERIFIED_TOKENS_SIZE,
) -> AsyncIterator[Setup]:
    """The adapter as the container composes it, over the key made on first start."""
    clock = clock or SystemClock()
    verified = VerifiedTokens[AccessTokenClaims](clock, size=remembered)
    codec = JwtCodec(clock, issuer=ISSUER, audience=AUDIENCE)
    async with ring_after_first_start(
        uow_factory, factory, clock, algorithm, on_keys_removed=verified.forget_keys
    ) as (keys, key):
        yield Setup(JwtAccessTokens(keys, codec, verified), keys, verified, key)


@pytest.fixture(params=ALGORITHMS)
async def any_algorithm(
    request: pytest.FixtureRequest, uow_factory: UowFactory, key_factory: SigningKeyFactory
) -> AsyncIterator[Setup]:
    async with set_up(uow_factory, key_factory, request.param) as setup:
        yield setup


@pytest.fixture
async def es256(uow_factory: UowFactory, key_factory: SigningKeyFactory) -> AsyncIterator[Setup]:
    """The default algorithm; forgeries that do not depend on the algorithm are tried on it."""
    async with set_up(uow_factory, key_factory, "ES256") as setup:
        yield setup


@pytest.fixture
async def es256_on_the_clock(
    uow_factory: UowFactory, key_factory: SigningKeyFactory, clock: FixedClock
) -> AsyncIterator[Setup]:
    async with set_up(uow_factory, key_factory, "ES256", clock=clock) as setup:
        yield setup


def now_seconds() -> int:
    return int(time.time())


def some_claims(**overrides: Any) -> AccessTokenClaims:
    issued_at = datetime.fromtimestamp(now_seconds(), UTC)  # JWT times are whole seconds
    values: dict[str, Any] = {
        "subject": uuid4(),
        "session_id": uuid4(),
        "token_id": uuid4(),
        "role": Role.USER,
        "issued_at": issued_at,
        "expires_at": issued_at + TTL,
        "amr": PASSWORD_ONLY,
    }
    values.update(overrides)
    return AccessTokenClaims(**values)


def valid_payload(**overrides: Any) -> dict[str, Any]:
    now = now_seconds()
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid4()),
        "sid": str(uuid4()),
        "jti": str(uuid4()),
        "iat": now,
        "exp": now + int(TTL.total_seconds()),
        "role": "user",
        "amr": ["pwd"],
    }
    payload.update(overrides)
    return payload


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def signing_input(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{b64url_json(header)}.{b64url_json(payload)}"


def sign_with(
    private_key: Any,
    algorithm: str,
    payload: dict[str, Any],
    header: dict[str, Any],
) -> str:
    """A compact JWS with exactly this header (pyjwt adds nothing), signed by pyjwt's code."""
    message = signing_input({"alg": algorithm, **header}, payload)
    signature = jwt.get_algorithm_by_name(algorithm).sign(message.encode(), private_key)
    return f"{message}.{b64url(signature)}"


def sign_genuinely(setup: Setup, payload: dict[str, Any], **header: Any) -> str:
    """Signed by the stored key itself: refusals then come from the claims or header alone."""
    full_header = {"kid": setup.key.kid, "typ": "at+jwt", **header}
    full_header = {name: value for name, value in full_header.items() if value is not None}
    return sign_with(setup.private_key, setup.key.algorithm, payload, full_header)


def hs256(secret: bytes, payload: dict[str, Any], header: dict[str, Any]) -> str:
    message = signing_input({"alg": "HS256", **header}, payload)
    signature = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return f"{message}.{b64url(signature)}"


def a_fresh_private_key(algorithm: str) -> Any:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


async def assert_refused(tokens: JwtAccessTokens, token: str) -> None:
    with pytest.raises(InvalidAccessToken):
        await tokens.verify(token)


# --- what is issued ---------------------------------------------------------------------------


async def test_an_issued_token_verifies_to_the_same_claims(any_algorithm: Setup) -> None:
    claims = some_claims(role=Role.ADMIN)

    token = await any_algorithm.tokens.issue(claims)

    assert await any_algorithm.tokens.verify(token) == claims


async def test_the_header_names_the_key_the_algorithm_and_the_access_token_type(
    any_algorithm: Setup,
) -> None:
    token = await any_algorithm.tokens.issue(some_claims())

    assert jwt.get_unverified_header(token) == {
        "alg": any_algorithm.key.algorithm,
        "kid": any_algorithm.key.kid,
        "typ": "at+jwt",
    }


async def test_the_payload_carries_every_contract_claim(es256: Setup) -> None:
    claims = some_claims()

    token = await es256.tokens.issue(claims)

    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload == {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(claims.subject),
        "sid": str(claims.session_id),
        "jti": str(claims.token_id),
        "iat": int(claims.issued_at.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
        "role": "user",
        "amr": ["pwd"],
    }


async def test_the_jwks_holds_only_the_public_key_and_it_verifies_issued_tokens(
    any_algorithm: Setup,
) -> None:
    token = await any_algorithm.tokens.issue(some_claims())

    jwks = await any_algorithm.tokens.public_jwks()

    assert [jwk["kid"] for jwk in jwks] == [any_algorithm.key.kid]
    (jwk,) = jwks
    assert not PRIVATE_JWK_MEMBERS & set(jwk), jwk
    assert jwk["alg"] == any_algorithm.key.algorithm
    assert jwk["use"] == "sig"
    # What a relying service does with the JWKS: it needs nothing else to check our tokens.
    public = jwt.PyJWK(jwk)
    payload = jwt.decode(token, public, algorithms=[jwk["alg"]], audience=AUDIENCE, issuer=ISSUER)
    assert payload["iss"] == ISSUER


async def test_a_token_just_past_its_expiry_is_still_accepted_within_the_leeway(
    es256: Setup,
) -> None:
    now = now_seconds()
    token = sign_genuinely(es256, valid_payload(iat=now - 900, exp=now - 5))

    claims = await es256.tokens.verify(token)

    assert claims.expires_at == datetime.fromtimestamp(now - 5, UTC)


async def test_a_genuinely_signed_valid_token_verifies(es256: Setup) -> None:
    """The control for the forgeries below: the helpers build acceptable tokens."""
    payload = valid_payload(role="admin")

    claims = await es256.tokens.verify(sign_genuinely(es256, payload))

    assert str(claims.subject) == payload["sub"]
    assert claims.role is Role.ADMIN


async def test_after_a_rotation_both_keys_verify_and_new_tokens_use_the_new_key(
    es256: Setup, uow_factory: UowFactory
) -> None:
    old_token = await es256.tokens.issue(some_claims())
    newer = CryptographySigningKeyFactory().generate("ES256", datetime.now(UTC) + timedelta(1))
    async with uow_factory() as uow:
        await uow.signing_keys.add(newer)
        await uow.commit()

    await es256.keys.load()  # as keep_fresh does every 5 s
    new_token = await es256.tokens.issue(some_claims())

    assert jwt.get_unverified_header(new_token)["kid"] == newer.kid
    await es256.tokens.verify(new_token)
    await es256.tokens.verify(old_token)
    assert {jwk["kid"] for jwk in await es256.tokens.public_jwks()} == {es256.key.kid, newer.kid}


async def test_a_token_of_a_key_made_by_another_process_verifies_at_once(
    es256_on_the_clock: Setup, uow_factory: UowFactory, clock: FixedClock
) -> None:
    """Another replica signs with a key this one has not loaded yet: its kid is unknown here,
    and the ring reloads for it (at most once a second: see test_key_ring.py)."""
    setup = es256_on_the_clock
    await setup.keys.load()
    elsewhere = CryptographySigningKeyFactory().generate("ES256", clock.now())
    async with uow_factory() as uow:
        await uow.signing_keys.add(elsewhere)
        await uow.commit()
    clock.advance(seconds=1)
    private = load_pem_private_key(elsewhere.private_key_pem.encode(), password=None)
    payload = valid_payload()

    token = sign_with(private, "ES256", payload, {"kid": elsewhere.kid, "typ": "at+jwt"})

    assert str((await setup.tokens.verify(token)).subject) == payload["sub"]


# --- tokens that verified are remembered ------------------------------------------------------


class SignatureChecks:
    """Counts the signature checks PyJWT makes (each still runs for real)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = jwt.decode

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(jwt, "decode", counting)  # the module the adapter calls


async def test_a_token_that_verified_is_not_checked_again(
    es256: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = SignatureChecks(monkeypatch)
    claims = some_claims()
    token = await es256.tokens.issue(claims)

    first = await es256.tokens.verify(token)
    second = await es256.tokens.verify(token)

    assert first == second == claims
    assert checks.count == 1


async def test_a_remembered_token_still_expires_by_the_clock(
    es256_on_the_clock: Setup, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = es256_on_the_clock
    payload = valid_payload()
    token = sign_genuinely(setup, payload)
    await setup.tokens.verify(token)
    checks = SignatureChecks(monkeypatch)
    accepted_until = datetime.fromtimestamp(payload["exp"], UTC) + LEEWAY

    clock.advance(seconds=(accepted_until - clock.now()).total_seconds() - 0.01)
    await setup.tokens.verify(token)
    assert checks.count == 0  # still remembered

    clock.advance(seconds=0.01)
    await assert_refused(setup.tokens, token)
    assert len(setup.verified) == 0


@sql_only
async def test_a_remembered_token_is_refused_once_its_key_is_gone(
    es256: Setup, engine: AsyncEngine
) -> None:
    token = await es256.tokens.issue(some_claims())
    await es256.tokens.verify(token)

    async with engine.begin() as connection:  # no port deletes keys; an operator might
        await connection.execute(delete(signing_keys).where(signing_keys.c.kid == es256.key.kid))
    await es256.keys.load()  # as keep_fresh does every 5 s

    assert len(es256.verified) == 0
    await assert_refused(es256.tokens, token)


async def test_a_forgery_of_a_remembered_token_is_still_refused(es256: Setup) -> None:
    token = await es256.tokens.issue(some_claims(role=Role.USER))
    await es256.tokens.verify(token)
    header, _, signature = token.split(".")
    escalated = jwt.decode(token, options={"verify_signature": False}) | {"role": "admin"}

    await assert_refused(es256.tokens, f"{header}.{b64url_json(escalated)}.{signature}")
    assert (await es256.tokens.verify(token)).role is Role.USER


async def test_only_so_many_tokens_are_remembered(
    uow_factory: UowFactory, key_factory: SigningKeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with set_up(uow_factory, key_factory, "ES256", remembered=2) as setup:
        tokens = [await setup.tokens.issue(some_claims()) for _ in range(3)]
        for token in tokens:
            await setup.tokens.verify(token)
        checks = SignatureChecks(monkeypatch)

        await setup.tokens.verify(tokens[2])
        assert checks.count == 0  # the newest is remembered
        await setup.tokens.verify(tokens[0])
        assert checks.count == 1  # the oldest was dropped to make room, and is checked again


# --- forgeries --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_an_unsigned_alg_none_token_is_refused(es256: Setup, alg: str) -> None:
    header = {"alg": alg, "kid": es256.key.kid, "typ": "at+jwt"}
    message = signing_input(header, valid_payload())

    await assert_refused(es256.tokens, message + ".")
    await assert_refused(es256.tokens, message)


async def test_hs256_signed_with_the_public_key_is_refused(any_algorithm: Setup) -> None:
    """Algorithm confusion: the public key, used as an HMAC secret, must not pass."""
    public_key = any_algorithm.private_key.public_key()
    secrets_a_forger_has = [
        public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        json.dumps(any_algorithm.key.public_jwk).encode(),
        json.dumps((await any_algorithm.tokens.public_jwks())[0]).encode(),
    ]
    header = {"kid": any_algorithm.key.kid, "typ": "at+jwt"}

    for secret in secrets_a_forger_has:
        await assert_refused(any_algorithm.tokens, hs256(secret, valid_payload(), header))


async def test_a_token_with_an_unknown_kid_is_refused(es256: Setup) -> None:
    await assert_refused(es256.tokens, sign_genuinely(es256, valid_payload(), kid="unknown"))
    await assert_refused(es256.tokens, sign_genuinely(es256, valid_payload(), kid=""))


@pytest.mark.parametrize("kid", [None, 7, ["x"], {"kid": "x"}])
async def test_a_token_without_a_string_kid_is_refused(es256: Setup, kid: Any) -> None:
    payload = valid_payload()
    header = {"typ": "at+jwt"} if kid is None else {"typ": "at+jwt", "kid": kid}

    await assert_refused(es256.tokens, sign_with(es256.private_key, "ES256", payload, header))


async def test_a_tampered_payload_with_the_original_signature_is_refused(es256: Setup) -> None:
    claims = some_claims(role=Role.USER)
    token = await es256.tokens.issue(claims)
    header, _, signature = token.split(".")
    escalated = jwt.decode(token, options={"verify_signature": False}) | {"role": "admin"}

    forged = f"{header}.{b64url_json(escalated)}.{signature}"

    await assert_refused(es256.tokens, forged)


async def test_a_token_signed_by_another_key_claiming_an_existing_kid_is_refused(
    any_algorithm: Setup,
) -> None:
    kid = any_algorithm.key.kid
    for algorithm in ALGORITHMS:
        impostor = a_fresh_private_key(algorithm)
        forged = sign_with(impostor, algorithm, valid_payload(), {"kid": kid, "typ": "at+jwt"})
        await assert_refused(any_algorithm.tokens, forged)


async def test_the_stored_rsa_key_under_another_algorithm_is_refused(
    uow_factory: UowFactory, key_factory: SigningKeyFactory
) -> None:
    """The algorithm is the stored key's, never the one the token names."""
    async with set_up(uow_factory, key_factory, "RS256") as rs256:
        header = {"kid": rs256.key.kid, "typ": "at+jwt"}

        for other_algorithm in ["RS384", "RS512", "PS256", "PS384", "PS512"]:
            token = sign_with(rs256.private_key, other_algorithm, valid_payload(), header)
            await assert_refused(rs256.tokens, token)


async def test_the_stored_ec_key_under_another_hash_is_refused(es256: Setup) -> None:
    header = {"alg": "ES384", "kid": es256.key.kid, "typ": "at+jwt"}
    message = signing_input(header, valid_payload())
    r, s = decode_dss_signature(es256.private_key.sign(message.encode(), ec.ECDSA(SHA384())))

    token = f"{message}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    await assert_refused(es256.tokens, token)


async def test_a_token_expired_beyond_the_leeway_is_refused(es256: Setup) -> None:
    now = now_seconds()
    token = sign_genuinely(es256, valid_payload(iat=now - 900, exp=now - 11))

    await assert_refused(es256.tokens, token)


async def test_an_issued_token_past_its_expiry_is_refused(es256: Setup) -> None:
    issued_at = datetime.fromtimestamp(now_seconds(), UTC) - timedelta(hours=1)
    claims = some_claims(issued_at=issued_at, expires_at=issued_at + TTL)

    await assert_refused(es256.tokens, await es256.tokens.issue(claims))


async def test_a_token_issued_in_the_future_is_refused(es256: Setup) -> None:
    now = now_seconds()
    token = sign_genuinely(es256, valid_payload(iat=now + 3600, exp=now + 7200))

    await assert_refused(es256.tokens, token)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"iss": "https://evil.test"}, id="wrong-iss"),
        pytest.param({"iss": ISSUER + "/"}, id="iss-almost-right"),
        pytest.param({"iss": [ISSUER]}, id="iss-as-list"),
        pytest.param({"aud": "another-service"}, id="wrong-aud"),
        pytest.param({"aud": ["another-service"]}, id="wrong-aud-in-list"),
        pytest.param({"aud": []}, id="empty-aud-list"),
        pytest.param({"aud": AUDIENCE.upper()}, id="aud-other-case"),
    ],
)
async def test_a_token_for_another_issuer_or_audience_is_refused(
    es256: Setup, overrides: dict[str, Any]
) -> None:
    await assert_refused(es256.tokens, sign_genuinely(es256, valid_payload(**overrides)))


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
async def test_a_token_missing_a_required_claim_is_refused(es256: Setup, claim: str) -> None:
    payload = valid_payload()
    del payload[claim]

    await assert_refused(es256.tokens, sign_genuinely(es256, payload))


@pytest.mark.parametrize("claim", ["sub", "sid", "jti"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("not-a-uuid", id="text"),
        pytest.param("", id="empty"),
        pytest.param(None, id="null"),
        pytest.param(12345, id="number"),
        pytest.param(["5f1c0e7e-3d36-4a4c-9c55-6d6f6b2a1f00"], id="list"),
        pytest.param({"id": "5f1c0e7e-3d36-4a4c-9c55-6d6f6b2a1f00"}, id="object"),
    ],
)
async def test_a_token_whose_ids_are_not_uuids_is_refused(
    es256: Setup, claim: str, value: Any
) -> None:
    await assert_refused(es256.tokens, sign_genuinely(es256, valid_payload(**{claim: value})))


@pytest.mark.parametrize(
    "role", ["superuser", "ADMIN", "Admin", "", None, 1, True, ["admin"], {"admin": True}]
)
async def test_a_token_with_a_role_that_is_neither_user_nor_admin_is_refused(
    es256: Setup, role: Any
) -> None:
    await assert_refused(es256.tokens, sign_genuinely(es256, valid_payload(role=role)))


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": "9999999999"}, id="exp-as-text"),
        pytest.param({"iat": "1700000000"}, id="iat-as-text"),
        pytest.param({"exp": None}, id="exp-null"),
        pytest.param({"exp": 10**20}, id="exp-beyond-any-calendar"),
        pytest.param({"exp": 253402300800}, id="exp-after-year-9999"),
        pytest.param({"iat": -(10**20)}, id="iat-before-any-calendar"),
        pytest.param({"exp": float("inf")}, id="exp-infinite"),
    ],
)
async def test_a_token_with_unusable_times_is_refused(
    es256: Setup, overrides: dict[str, Any]
) -> None:
    await assert_refused(es256.tokens, sign_genuinely(es256, valid_payload(**overrides)))


@pytest.mark.parametrize(
    "typ",
    [
        pytest.param(None, id="missing"),
        pytest.param("JWT", id="plain-jwt"),
        pytest.param("refresh+jwt", id="other-type"),
        pytest.param("", id="empty"),
        pytest.param(["at+jwt"], id="list"),
    ],
)
async def test_a_token_without_the_access_token_type_is_refused(es256: Setup, typ: Any) -> None:
    await assert_refused(es256.tokens, sign_genuinely(es256, valid_payload(), typ=typ))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("not-a-jwt", id="one-segment"),
        pytest.param("a.b.c", id="junk-segments"),
        pytest.param("a.b.c.d.e", id="five-segments"),
        pytest.param(b64url(b"[1,2]") + ".e30.", id="header-not-an-object"),
        pytest.param(b64url(b"\xff\xfe") + ".e30.", id="header-not-utf8"),
    ],
)
async def test_a_token_that_is_not_a_jws_is_refused(es256: Setup, token: str) -> None:
    await assert_refused(es256.tokens, token)


async def test_a_payload_that_is_not_a_json_object_is_refused(es256: Setup) -> None:
    header = {"alg": "ES256", "kid": es256.key.kid, "typ": "at+jwt"}
    message = f"{b64url_json(header)}.{b64url_json(['not', 'an', 'object'])}"
    signature = jwt.get_algorithm_by_name("ES256").sign(message.encode(), es256.private_key)

    await assert_refused(es256.tokens, f"{message}.{b64url(signature)}")

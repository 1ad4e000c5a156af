"""Access tokens over real keys in a real database: what is issued verifies, and every forgery
is refused with InvalidAccessToken (never another exception)."""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import time
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
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.persistence.tables import signing_keys
from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork
from adapters.security import jwt_access_tokens
from adapters.security.jwt_access_tokens import JwtAccessTokens
from adapters.security.signing_key_factory import CryptographySigningKeyFactory
from adapters.system.clock import SystemClock
from application.errors import InvalidAccessToken
from application.ports.security import AccessTokenClaims
from application.use_cases.ensure_signing_key import EnsureSigningKey, EnsureSigningKeyCommand
from domain.role import Role
from domain.signing_key import SigningKey
from tests.integration.conftest import UowFactory

ISSUER = "https://portcullis.test"
AUDIENCE = "portcullis-api"
TTL = timedelta(minutes=15)
ALGORITHMS = ["ES256", "EdDSA", "RS256"]
REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "role"]
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


class ReusingSigningKeyFactory:
    """The real factory, but each algorithm's key pair is made once per run: RSA is slow."""

    def __init__(self) -> None:
        self._real = CryptographySigningKeyFactory()
        self._made: dict[str, SigningKey] = {}

    def generate(self, algorithm: str, now: datetime) -> SigningKey:
        if algorithm not in self._made:
            self._made[algorithm] = self._real.generate(algorithm, now)
        key = copy.deepcopy(self._made[algorithm])
        key.created_at = now
        return key


@pytest.fixture(scope="session")
def key_factory() -> ReusingSigningKeyFactory:
    return ReusingSigningKeyFactory()


@dataclass
class Setup:
    tokens: JwtAccessTokens
    key: SigningKey

    @cached_property
    def private_key(self) -> Any:
        return load_pem_private_key(self.key.private_key_pem.encode(), password=None)


async def set_up(uow_factory: UowFactory, factory: Any, algorithm: str) -> Setup:
    clock = SystemClock()
    key = await EnsureSigningKey(uow_factory, factory, clock, algorithm).execute(
        EnsureSigningKeyCommand()
    )
    tokens = JwtAccessTokens(
        uow_factory,
        clock,
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithm=algorithm,
        access_token_ttl=TTL,
    )
    return Setup(tokens=tokens, key=key)


@pytest.fixture(params=ALGORITHMS)
async def any_algorithm(
    request: pytest.FixtureRequest, uow_factory: UowFactory, key_factory: ReusingSigningKeyFactory
) -> Setup:
    return await set_up(uow_factory, key_factory, request.param)


@pytest.fixture
async def es256(uow_factory: UowFactory, key_factory: ReusingSigningKeyFactory) -> Setup:
    """The default algorithm; forgeries that do not depend on the algorithm are tried on it."""
    return await set_up(uow_factory, key_factory, "ES256")


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


async def test_a_key_added_by_another_process_is_used_once_the_cache_expires(
    es256: Setup,
    uow_factory: UowFactory,
    key_factory: ReusingSigningKeyFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jwt_access_tokens, "KEY_CACHE_SECONDS", 0.0)
    old_token = await es256.tokens.issue(some_claims())
    newer = CryptographySigningKeyFactory().generate("ES256", datetime.now(UTC) + timedelta(1))
    async with uow_factory() as uow:
        await uow.signing_keys.add(newer)
        await uow.commit()

    # The first issue after that signs with what it has and reloads beside it; the new key
    # is used as soon as the reload is done.
    new_token = await es256.tokens.issue(some_claims())
    for _ in range(200):
        if jwt.get_unverified_header(new_token)["kid"] == newer.kid:
            break
        await asyncio.sleep(0.01)
        new_token = await es256.tokens.issue(some_claims())

    assert jwt.get_unverified_header(new_token)["kid"] == newer.kid
    await es256.tokens.verify(new_token)
    await es256.tokens.verify(old_token)
    assert {jwk["kid"] for jwk in await es256.tokens.public_jwks()} == {es256.key.kid, newer.kid}


async def test_issuing_inside_a_unit_of_work_never_waits_for_a_connection_to_reload_keys(
    database_url: str, key_factory: ReusingSigningKeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Login and refresh issue tokens while their unit of work holds a connection. With every
    connection of the pool held so, a reload that waited for one would never get it."""
    engine = create_async_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        setup = await set_up(lambda: SqlAlchemyUnitOfWork(engine), key_factory, "ES256")
        await setup.tokens.load()
        monkeypatch.setattr(jwt_access_tokens, "KEY_CACHE_SECONDS", 0.0)  # stale at once

        async with SqlAlchemyUnitOfWork(engine) as holding_the_only_connection:
            await holding_the_only_connection.signing_keys.list()
            token = await asyncio.wait_for(setup.tokens.issue(some_claims()), timeout=0.5)

        await setup.tokens.verify(token)
    finally:
        await engine.dispose()


async def test_a_rotation_reaches_a_process_that_issues_nothing_meanwhile(
    es256: Setup, uow_factory: UowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keep_fresh (run by the server) reloads on its own: the first token issued after the
    reload is signed with the new key, as the contract's 10 seconds require."""
    monkeypatch.setattr(jwt_access_tokens, "KEY_CACHE_SECONDS", 0.05)
    await es256.tokens.load()
    keeping = asyncio.create_task(es256.tokens.keep_fresh())
    try:
        newer = CryptographySigningKeyFactory().generate("ES256", datetime.now(UTC) + timedelta(1))
        async with uow_factory() as uow:
            await uow.signing_keys.add(newer)
            await uow.commit()
        await asyncio.sleep(0.5)

        token = await es256.tokens.issue(some_claims())
    finally:
        keeping.cancel()

    assert jwt.get_unverified_header(token)["kid"] == newer.kid


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


async def test_a_remembered_token_still_expires(es256: Setup) -> None:
    leeway = jwt_access_tokens.LEEWAY_SECONDS
    expires = now_seconds() - leeway + 2  # acceptable for one or two more seconds
    token = sign_genuinely(es256, valid_payload(iat=expires - 60, exp=expires))
    await es256.tokens.verify(token)

    await asyncio.sleep(expires + leeway - time.time() + 0.05)

    await assert_refused(es256.tokens, token)


async def test_a_remembered_token_is_refused_once_its_key_is_gone(
    es256: Setup, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await es256.tokens.issue(some_claims())
    await es256.tokens.verify(token)

    async with engine.begin() as connection:  # no port deletes keys; an operator might
        await connection.execute(delete(signing_keys).where(signing_keys.c.kid == es256.key.kid))
    monkeypatch.setattr(jwt_access_tokens, "KEY_CACHE_SECONDS", 0.0)
    monkeypatch.setattr(jwt_access_tokens, "UNKNOWN_KID_RELOAD_SECONDS", 0.0)

    await assert_refused(es256.tokens, token)


async def test_a_forgery_of_a_remembered_token_is_still_refused(es256: Setup) -> None:
    token = await es256.tokens.issue(some_claims(role=Role.USER))
    await es256.tokens.verify(token)
    header, _, signature = token.split(".")
    escalated = jwt.decode(token, options={"verify_signature": False}) | {"role": "admin"}

    await assert_refused(es256.tokens, f"{header}.{b64url_json(escalated)}.{signature}")
    assert (await es256.tokens.verify(token)).role is Role.USER


async def test_only_so_many_tokens_are_remembered(
    es256: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwt_access_tokens, "VERIFIED_CACHE_SIZE", 2)
    tokens = [await es256.tokens.issue(some_claims()) for _ in range(3)]
    for token in tokens:
        await es256.tokens.verify(token)
    checks = SignatureChecks(monkeypatch)

    await es256.tokens.verify(tokens[2])
    assert checks.count == 0  # the newest is remembered
    await es256.tokens.verify(tokens[0])
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
    uow_factory: UowFactory, key_factory: ReusingSigningKeyFactory
) -> None:
    """The algorithm is the stored key's, never the one the token names."""
    rs256 = await set_up(uow_factory, key_factory, "RS256")
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

"""The OpenID provider's tokens over real keys in the in-memory key store: ID tokens (and the
id_token_hint check) and OAuth access tokens (RFC 9068). What they carry is read back by an
independent JOSE library (jwcrypto) against the key ring's JWKS; what they refuse is tried
with forgeries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest

from adapters.security.jwt_access_tokens import JwtAccessTokens
from adapters.security.jwt_codec import JwtCodec
from adapters.security.jwt_id_tokens import JwtIdTokens
from adapters.security.jwt_oauth_access_tokens import JwtOAuthAccessTokens
from adapters.security.key_ring import KeyRing
from adapters.security.signing_key_factory import CryptographySigningKeyFactory
from adapters.security.verified_tokens import VerifiedTokens
from application.errors import InvalidAccessToken
from application.oidc_tokens import IdTokenClaims, OAuthAccessTokenClaims, UserClaims
from application.ports.security import AccessTokenClaims
from domain.auth_method import AuthMethod
from domain.oauth_client import IdTokenAlgorithm
from domain.role import Role
from domain.signing_key import SIGNING_ALGORITHMS, SigningKey
from tests.fakes import FakeUnitOfWorkFactory, FixedClock
from tests.jose import verify_independently

ISSUER = "https://id.example.org"
API_ISSUER = "portcullis"
API_AUDIENCE = "portcullis"
CLIENT_ID = "client-7f3a"
TTL = timedelta(minutes=15)
SUBJECT = UUID("0b5e2a56-8f0c-4c53-9d6b-2f0a6c1d3e11")
SESSION = UUID("5d1c7a88-2b6e-4f7e-8a0a-9c4c5e6f7a8b")


@cache
def _key_pair(algorithm: str) -> SigningKey:
    return CryptographySigningKeyFactory().generate(algorithm, datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def clock() -> FixedClock:
    """The real time, standing still: jwcrypto checks expiry on the system clock."""
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def ring(clock: FixedClock) -> AsyncIterator[KeyRing]:
    """An active key of every algorithm, as the service keeps them; the API signs ES256."""
    uow = FakeUnitOfWorkFactory()
    for algorithm in SIGNING_ALGORITHMS:
        uow.store.signing_keys[f"kid-{algorithm}"] = replace(
            _key_pair(algorithm),
            kid=f"kid-{algorithm}",
            public_jwk={**_key_pair(algorithm).public_jwk, "kid": f"kid-{algorithm}"},
        )
    ring = KeyRing(uow, clock, algorithm="ES256", access_token_ttl=TTL)
    yield ring
    await ring.aclose()


@pytest.fixture
def id_tokens(ring: KeyRing) -> JwtIdTokens:
    return JwtIdTokens(ring, issuer=ISSUER)


@pytest.fixture
def oauth_tokens(ring: KeyRing, clock: FixedClock) -> JwtOAuthAccessTokens:
    return JwtOAuthAccessTokens(ring, clock, VerifiedTokens(clock), issuer=ISSUER)


@pytest.fixture
def api_tokens(ring: KeyRing, clock: FixedClock) -> JwtAccessTokens:
    codec = JwtCodec(clock, issuer=API_ISSUER, audience=API_AUDIENCE)
    return JwtAccessTokens(ring, codec, VerifiedTokens(clock))


async def jwks(ring: KeyRing) -> dict[str, Any]:
    return {"keys": await ring.public_jwks()}


def id_claims(clock: FixedClock, **overrides: Any) -> IdTokenClaims:
    values: dict[str, Any] = {
        "subject": SUBJECT,
        "client_id": CLIENT_ID,
        "session_id": SESSION,
        "issued_at": clock.now(),
        "expires_at": clock.now() + TTL,
        "auth_time": clock.now() - timedelta(minutes=3),
        "amr": (AuthMethod.PASSWORD, AuthMethod.ONE_TIME_PASSWORD, AuthMethod.MULTI_FACTOR),
        "nonce": "n-0S6_WzA2Mj",
    }
    values.update(overrides)
    return IdTokenClaims(**values)


def access_claims(clock: FixedClock, **overrides: Any) -> OAuthAccessTokenClaims:
    values: dict[str, Any] = {
        "subject": SUBJECT,
        "client_id": CLIENT_ID,
        "scope": ("openid", "profile", "email"),
        "token_id": uuid4(),
        "session_id": SESSION,
        "issued_at": clock.now(),
        "expires_at": clock.now() + TTL,
    }
    values.update(overrides)
    return OAuthAccessTokenClaims(**values)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def resigned(
    token: str, algorithm: str, *, header: dict[str, Any] | None = None, **claims: Any
) -> str:
    """The token with some claims (or its header) changed, signed again with the genuine
    private key of that algorithm: a token the service might have made, but did not."""
    original_header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    payload.update(claims)
    for name in [name for name, value in payload.items() if value is None]:
        del payload[name]
    key = _key_pair(algorithm).private_key_pem
    return jwt.encode(
        payload, key, algorithm=algorithm, headers={**original_header, **(header or {})}
    )


# --- ID tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", list(IdTokenAlgorithm))
async def test_an_id_token_verifies_independently_with_the_key_of_the_clients_algorithm(
    id_tokens: JwtIdTokens, ring: KeyRing, clock: FixedClock, algorithm: IdTokenAlgorithm
) -> None:
    token = await id_tokens.sign(id_claims(clock), algorithm)

    header, claims = verify_independently(
        token, await jwks(ring), algorithm=algorithm.value, iss=ISSUER, aud=CLIENT_ID
    )

    assert header == {"alg": algorithm.value, "kid": f"kid-{algorithm.value}", "typ": "JWT"}
    now = int(clock.now().timestamp())
    assert claims == {
        "iss": ISSUER,
        "sub": str(SUBJECT),
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 900,
        "auth_time": now - 180,
        "nonce": "n-0S6_WzA2Mj",
        "amr": ["pwd", "otp", "mfa"],
        "sid": str(SESSION),
    }


async def test_an_id_token_carries_the_released_claims_with_updated_at_as_a_number(
    id_tokens: JwtIdTokens, ring: KeyRing, clock: FixedClock
) -> None:
    updated = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    user = UserClaims(
        name="Ada Lovelace", updated_at=updated, email="ada@example.com", email_verified=False
    )
    token = await id_tokens.sign(id_claims(clock, user=user), IdTokenAlgorithm.RS256)

    _, claims = verify_independently(token, await jwks(ring), algorithm="RS256")

    assert claims["name"] == "Ada Lovelace"
    assert claims["updated_at"] == int(updated.timestamp())
    assert type(claims["updated_at"]) is int
    assert (claims["email"], claims["email_verified"]) == ("ada@example.com", False)


async def test_claims_not_released_and_a_missing_nonce_are_left_out_not_null(
    id_tokens: JwtIdTokens, ring: KeyRing, clock: FixedClock
) -> None:
    token = await id_tokens.sign(
        id_claims(clock, nonce=None, user=UserClaims(email="ada@example.com")),
        IdTokenAlgorithm.RS256,
    )

    _, claims = verify_independently(token, await jwks(ring), algorithm="RS256")

    assert "nonce" not in claims
    assert claims["email"] == "ada@example.com"
    assert not {"name", "updated_at", "email_verified"} & set(claims)


async def test_a_claim_about_the_person_cannot_stand_in_for_a_registered_one(
    id_tokens: JwtIdTokens, ring: KeyRing, clock: FixedClock
) -> None:
    """as_claims() names only the four claims; still, the registered ones are written last."""
    token = await id_tokens.sign(id_claims(clock), IdTokenAlgorithm.ES256)

    _, claims = verify_independently(token, await jwks(ring), algorithm="ES256", sub=str(SUBJECT))

    assert claims["iss"] == ISSUER


async def test_a_hint_names_the_subject_client_and_session_of_the_id_token(
    id_tokens: JwtIdTokens, clock: FixedClock
) -> None:
    token = await id_tokens.sign(id_claims(clock), IdTokenAlgorithm.RS256)

    hint = await id_tokens.verify_hint(token)

    assert hint is not None
    assert (hint.subject, hint.client_id, hint.session_id) == (SUBJECT, CLIENT_ID, SESSION)


async def test_an_expired_id_token_is_still_a_hint(
    id_tokens: JwtIdTokens, clock: FixedClock
) -> None:
    token = await id_tokens.sign(id_claims(clock), IdTokenAlgorithm.EDDSA)
    clock.advance(days=30)

    hint = await id_tokens.verify_hint(token)

    assert hint is not None
    assert hint.session_id == SESSION


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t: resigned(t, "RS256", iss="https://evil.example"), id="other issuer"),
        pytest.param(lambda t: resigned(t, "RS256", iss=None), id="no issuer"),
        pytest.param(lambda t: resigned(t, "RS256", sid=None), id="no sid"),
        pytest.param(lambda t: resigned(t, "RS256", sub="not a uuid"), id="sub not ours"),
        pytest.param(lambda t: resigned(t, "RS256", aud=[CLIENT_ID, "x"]), id="several audiences"),
        pytest.param(lambda t: resigned(t, "RS256", header={"typ": "at+jwt"}), id="access typ"),
        pytest.param(lambda t: resigned(t, "RS256", header={"kid": "kid-ES256"}), id="other kid"),
        pytest.param(lambda t: resigned(t, "RS256", header={"kid": "unknown"}), id="unknown kid"),
        pytest.param(lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"), id="sig"),
        pytest.param(lambda _: "not.a.jwt", id="garbage"),
        pytest.param(lambda _: "", id="empty"),
    ],
)
async def test_what_is_not_an_id_token_issued_here_is_no_hint(
    id_tokens: JwtIdTokens, clock: FixedClock, forge: Any
) -> None:
    token = await id_tokens.sign(id_claims(clock), IdTokenAlgorithm.RS256)

    assert await id_tokens.verify_hint(forge(token)) is None


async def test_an_hmac_token_keyed_with_the_public_key_is_no_hint(
    id_tokens: JwtIdTokens, ring: KeyRing, clock: FixedClock
) -> None:
    """The algorithm is the stored key's: HS256 under an RSA kid is refused, however keyed."""
    genuine = await id_tokens.sign(id_claims(clock), IdTokenAlgorithm.RS256)
    payload = jwt.decode(genuine, options={"verify_signature": False})
    public_jwk = json.dumps(next(k for k in await ring.public_jwks() if k["alg"] == "RS256"))
    header = {"alg": "HS256", "kid": "kid-RS256", "typ": "JWT"}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = hmac.new(public_jwk.encode(), signing_input.encode(), hashlib.sha256).digest()

    assert await id_tokens.verify_hint(f"{signing_input}.{b64url(signature)}") is None


async def test_an_access_token_is_no_hint(
    id_tokens: JwtIdTokens,
    oauth_tokens: JwtOAuthAccessTokens,
    api_tokens: JwtAccessTokens,
    clock: FixedClock,
) -> None:
    oauth = await oauth_tokens.issue(access_claims(clock))
    api = await api_tokens.issue(api_claims(clock))

    assert await id_tokens.verify_hint(oauth) is None
    assert await id_tokens.verify_hint(api) is None


# --- OAuth access tokens ---------------------------------------------------------------------


def api_claims(clock: FixedClock) -> AccessTokenClaims:
    return AccessTokenClaims(
        subject=SUBJECT,
        session_id=SESSION,
        token_id=uuid4(),
        role=Role.USER,
        issued_at=clock.now(),
        expires_at=clock.now() + TTL,
        amr=(AuthMethod.PASSWORD,),
    )


async def test_an_oauth_access_token_is_an_rfc_9068_jwt_signed_rs256(
    oauth_tokens: JwtOAuthAccessTokens, ring: KeyRing, clock: FixedClock
) -> None:
    claims = access_claims(clock)
    token = await oauth_tokens.issue(claims)

    header, payload = verify_independently(
        token, await jwks(ring), algorithm="RS256", iss=ISSUER, aud=CLIENT_ID
    )

    assert header == {"alg": "RS256", "kid": "kid-RS256", "typ": "at+jwt"}
    now = int(clock.now().timestamp())
    assert payload == {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": str(SUBJECT),
        "client_id": CLIENT_ID,
        "scope": "openid profile email",
        "jti": str(claims.token_id),
        "iat": now,
        "exp": now + 900,
        "sid": str(SESSION),
    }


async def test_an_oauth_access_token_verifies_to_its_claims_until_it_expires(
    oauth_tokens: JwtOAuthAccessTokens, clock: FixedClock
) -> None:
    claims = access_claims(clock)
    token = await oauth_tokens.issue(claims)

    assert await oauth_tokens.verify(token) == claims
    clock.advance(seconds=900 + 9)  # within the leeway after its expiry
    assert await oauth_tokens.verify(token) == claims
    clock.advance(seconds=1)
    with pytest.raises(InvalidAccessToken):
        await oauth_tokens.verify(token)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t: resigned(t, "RS256", iss="portcullis"), id="the API's issuer"),
        pytest.param(lambda t: resigned(t, "RS256", aud="portcullis"), id="the API's audience"),
        pytest.param(lambda t: resigned(t, "RS256", aud=[CLIENT_ID]), id="audience list"),
        pytest.param(lambda t: resigned(t, "RS256", client_id=None), id="no client_id"),
        pytest.param(lambda t: resigned(t, "RS256", scope=None), id="no scope"),
        pytest.param(lambda t: resigned(t, "RS256", scope=["openid"]), id="scope not a string"),
        pytest.param(lambda t: resigned(t, "RS256", sid=None), id="no sid"),
        pytest.param(lambda t: resigned(t, "RS256", jti=7), id="jti not a uuid"),
        pytest.param(lambda t: resigned(t, "RS256", iat=True), id="iat a boolean"),
        pytest.param(lambda t: resigned(t, "RS256", exp="soon"), id="exp text"),
        pytest.param(lambda t: resigned(t, "RS256", nbf=4102444800), id="not yet valid"),
        pytest.param(lambda t: resigned(t, "RS256", header={"typ": "JWT"}), id="id token typ"),
        pytest.param(lambda t: resigned(t, "RS256", header={"typ": None}), id="no typ"),
        pytest.param(lambda t: resigned(t, "RS256", header={"kid": "kid-EdDSA"}), id="other kid"),
        pytest.param(lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"), id="sig"),
        pytest.param(lambda _: "a.b.c", id="garbage"),
    ],
)
async def test_a_forged_or_foreign_oauth_access_token_is_refused(
    oauth_tokens: JwtOAuthAccessTokens, clock: FixedClock, forge: Any
) -> None:
    token = await oauth_tokens.issue(access_claims(clock))

    with pytest.raises(InvalidAccessToken):
        await oauth_tokens.verify(forge(token))


async def test_neither_the_apis_tokens_nor_id_tokens_pass_as_oauth_access_tokens(
    oauth_tokens: JwtOAuthAccessTokens,
    api_tokens: JwtAccessTokens,
    id_tokens: JwtIdTokens,
    clock: FixedClock,
) -> None:
    for token in [
        await api_tokens.issue(api_claims(clock)),
        await id_tokens.sign(id_claims(clock), IdTokenAlgorithm.RS256),
    ]:
        with pytest.raises(InvalidAccessToken):
            await oauth_tokens.verify(token)


async def test_the_api_refuses_an_oauth_access_token(
    oauth_tokens: JwtOAuthAccessTokens, api_tokens: JwtAccessTokens, clock: FixedClock
) -> None:
    token = await oauth_tokens.issue(access_claims(clock))

    with pytest.raises(InvalidAccessToken):
        await api_tokens.verify(token)


async def test_the_api_still_signs_with_its_own_algorithms_key(
    api_tokens: JwtAccessTokens, clock: FixedClock
) -> None:
    token = await api_tokens.issue(api_claims(clock))

    assert jwt.get_unverified_header(token)["kid"] == "kid-ES256"

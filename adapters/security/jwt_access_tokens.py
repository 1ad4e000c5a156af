"""Access tokens as asymmetric JWTs, signed with the newest active key kept in the database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from application.errors import InvalidAccessToken, StorageUnavailable
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import AccessTokenClaims
from application.ports.system import Clock
from domain.role import Role
from domain.signing_key import SigningKey

# RFC 9068's typ keeps any other JWT signed by these keys from passing as an access token.
TOKEN_TYPE = "at+jwt"  # noqa: S105
REQUIRED_CLAIMS = ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "role"]
LEEWAY_SECONDS = 10
# How long a replica trusts its cached copy of the key table; a rotation reaches it within this.
KEY_CACHE_SECONDS = 5.0
# An unknown kid may come from a key made a moment ago by another replica — or from a forger:
# reload for it, but at most this often.
UNKNOWN_KID_RELOAD_SECONDS = 1.0
# A client sends the same access token with every request for its whole lifetime, and checking
# its signature is the dearest step of authenticating it (issue 7's profile). Tokens that passed
# are remembered, keyed by their exact text, until they expire: a forgery never equals a token
# that verified, and revocation is still decided by the database on every request. Bounded, so
# a flood of valid tokens costs memory no larger than this many entries (about 1 kB each).
VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class _Verified:
    claims: AccessTokenClaims
    kid: str
    expires_at: int  # the exp claim, seconds since the epoch


@dataclass(frozen=True, slots=True)
class _LoadedKey:
    key: SigningKey
    private: Any
    public: Any


class JwtAccessTokens:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        issuer: str,
        audience: str,
        algorithm: str,
        access_token_ttl: timedelta,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._issuer = issuer
        self._audience = audience
        self._algorithm = algorithm
        self._access_token_ttl = access_token_ttl
        self._keys: dict[str, _LoadedKey] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._verified: dict[str, _Verified] = {}  # oldest first
        self._background: asyncio.Task[None] | None = None

    async def issue(self, claims: AccessTokenClaims) -> str:
        signer = await self._signing_key()
        payload = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(claims.subject),
            "sid": str(claims.session_id),
            "jti": str(claims.token_id),
            "role": claims.role.value,
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
        headers = {"kid": signer.key.kid, "typ": TOKEN_TYPE}
        return jwt.encode(payload, signer.private, algorithm=signer.key.algorithm, headers=headers)

    async def verify(self, token: str) -> AccessTokenClaims:
        await self._refresh_if_stale(KEY_CACHE_SECONDS)
        remembered = self._verified.get(token)
        # PyJWT's own expiry rule (exp > now - leeway, on the system clock), and the key must
        # still be one we know: a key removed from the table takes its tokens with it.
        if remembered is not None:
            if (
                remembered.expires_at > time.time() - LEEWAY_SECONDS
                and remembered.kid in self._keys
            ):
                return remembered.claims
            del self._verified[token]
        claims, kid = await self._verify_signature_and_claims(token)
        self._remember(token, _Verified(claims, kid, int(claims.expires_at.timestamp())))
        return claims

    def _remember(self, token: str, verified: _Verified) -> None:
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = verified

    async def _verify_signature_and_claims(self, token: str) -> tuple[AccessTokenClaims, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidAccessToken() from None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("typ") != TOKEN_TYPE:
            raise InvalidAccessToken()
        loaded = await self._verification_key(kid)
        if loaded is None:
            raise InvalidAccessToken()
        try:
            # The algorithm is the stored key's, never the one the token claims.
            payload = jwt.decode(
                token,
                loaded.public,
                algorithms=[loaded.key.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
            claims = AccessTokenClaims(
                subject=UUID(payload["sub"]),
                session_id=UUID(payload["sid"]),
                token_id=UUID(payload["jti"]),
                role=Role(payload["role"]),
                issued_at=datetime.fromtimestamp(payload["iat"], UTC),
                expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
            # AttributeError: UUID() of a non-string id; OverflowError: a time past any calendar.
            raise InvalidAccessToken() from None
        return claims, kid

    async def public_jwks(self) -> list[dict[str, Any]]:
        await self._refresh_if_stale(KEY_CACHE_SECONDS)
        # A replica may go on signing with a retired key until its cache refreshes, and a
        # token stays acceptable for its lifetime plus the leeway after that.
        lifetime = self._access_token_ttl + timedelta(seconds=LEEWAY_SECONDS + KEY_CACHE_SECONDS)
        now = self._clock.now()
        return [
            loaded.key.public_jwk
            for loaded in self._keys.values()
            if loaded.key.may_have_signed_a_live_token(now, lifetime)
        ]

    async def _signing_key(self) -> _LoadedKey:
        # Tokens are issued inside a unit of work (login, refresh), holding a pooled connection:
        # waiting there for another connection to reload the keys could leave every connection
        # held by a request waiting for one (a fixed pool under load did exactly that). Once
        # keys are loaded, issuing signs with what it has and the reload runs beside it.
        if self._keys:
            self._refresh_in_background_if_stale()
        else:
            await self._refresh_if_stale(KEY_CACHE_SECONDS)
        for loaded in self._keys.values():  # newest first
            if loaded.key.is_active and loaded.key.algorithm == self._algorithm:
                return loaded
        raise RuntimeError(f"no active {self._algorithm} signing key; is the database migrated?")

    async def _verification_key(self, kid: str) -> _LoadedKey | None:
        await self._refresh_if_stale(KEY_CACHE_SECONDS)
        if kid not in self._keys:
            await self._refresh_if_stale(UNKNOWN_KID_RELOAD_SECONDS)
        return self._keys.get(kid)

    def _refresh_in_background_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at < KEY_CACHE_SECONDS or self._lock.locked():
            return
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        # A database that is down now is tried again by the next request after this one.
        with contextlib.suppress(StorageUnavailable):
            await self._refresh_if_stale(KEY_CACHE_SECONDS)

    async def load(self) -> None:
        """Load the keys now (at start-up, so no request ever waits for the first load)."""
        await self._refresh_if_stale(0.0)

    async def keep_fresh(self) -> None:
        """Reload the keys every KEY_CACHE_SECONDS, for as long as the server runs: a rotation
        reaches this process within that time whether or not it issues a token meanwhile."""
        while True:
            await asyncio.sleep(KEY_CACHE_SECONDS)
            await self._refresh_quietly()

    async def _refresh_if_stale(self, max_age: float) -> None:
        if time.monotonic() - self._loaded_at < max_age:
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at < max_age:
                return
            async with self._uow() as uow:
                keys = await uow.signing_keys.list()
            self._keys = self._load(keys)
            self._loaded_at = time.monotonic()

    def _load(self, keys: Sequence[SigningKey]) -> dict[str, _LoadedKey]:
        loaded: dict[str, _LoadedKey] = {}
        for key in keys:
            previous = self._keys.get(key.kid)
            if previous is not None and previous.key == key:
                loaded[key.kid] = previous  # parsing PEM is slow; keep what we have
                continue
            private = load_pem_private_key(key.private_key_pem.encode("ascii"), password=None)
            loaded[key.kid] = _LoadedKey(key=key, private=private, public=private.public_key())
        return loaded

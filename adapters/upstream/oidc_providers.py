"""Upstream OpenID Connect providers (the UpstreamProviders port): each provider's discovery
document and keys, fetched over HTTP and cached; the authorization request; the code traded at
the token endpoint through Authlib; and the ID token checked with joserfc."""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from application.ports.upstream import (
    UpstreamAuthorization,
    UpstreamFailure,
    UpstreamIdentity,
    UpstreamProvider,
    UpstreamSignInFailed,
)

log = structlog.get_logger("portcullis")

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Asymmetric only: an HS* token would be checked with the client secret, and `none` with nothing.
ID_TOKEN_ALGORITHMS = ("RS256", "ES256")
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_CACHE_SECONDS = 3600.0
# Seconds of clock difference with the provider that exp and iat allow for.
CLOCK_LEEWAY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class OidcProviderConfig:
    """One provider as configured: `issuer` exactly as its ID tokens' `iss` says it."""

    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ("openid", "email", "profile")


@dataclass(frozen=True, slots=True)
class _Discovery:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_endpoint_auth_method: str
    fetched_at: float


@dataclass(frozen=True, slots=True)
class _Keys:
    keys: KeySet
    fetched_at: float
    # Fetched for this very token: fetching again would find the same keys.
    fetched_now: bool


class _Unreachable(Exception):
    """A provider's document could not be had; the message says why, and never holds a secret."""


class OidcProviders:
    """Every configured provider, in order. Nothing is fetched until a provider is first used
    (or `warm` is awaited); what was fetched is kept for `cache_seconds`."""

    def __init__(
        self,
        providers: Sequence[OidcProviderConfig],
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
    ) -> None:
        self._configs = {config.id: config for config in providers}
        self._providers = tuple(UpstreamProvider(id=c.id, name=c.name) for c in providers)
        self._timeout = timeout_seconds
        self._cache_seconds = cache_seconds
        self._discoveries: dict[str, _Discovery] = {}
        self._keys: dict[str, _Keys] = {}
        # Made once: loading the CA bundle for every request would take the event loop's time.
        self._tls = httpx.create_ssl_context() if providers else None

    def configured(self) -> Sequence[UpstreamProvider]:
        return self._providers

    def get(self, provider_id: str) -> UpstreamProvider | None:
        config = self._configs.get(provider_id)
        return None if config is None else UpstreamProvider(id=config.id, name=config.name)

    async def warm(self) -> None:
        """Fetch every provider's discovery document at once; one that cannot be had is logged
        and left to be fetched at its first use. Never raises."""
        outcomes = await asyncio.gather(
            *(self._discovery(provider_id) for provider_id in self._configs),
            return_exceptions=True,
        )
        for provider_id, outcome in zip(self._configs, outcomes, strict=True):
            # An unreachable provider was logged where it failed; anything else is a fault here.
            if isinstance(outcome, Exception) and not isinstance(outcome, UpstreamSignInFailed):
                log.error(
                    "upstream_provider_warm_up_failed",
                    provider=provider_id,
                    error=type(outcome).__name__,
                )

    async def authorization_url(self, request: UpstreamAuthorization) -> str:
        config = self._config(request.provider_id)
        discovery = await self._discovery(request.provider_id)
        uri: str = prepare_grant_uri(
            discovery.authorization_endpoint,
            client_id=config.client_id,
            response_type="code",
            redirect_uri=request.redirect_uri,
            scope=" ".join(config.scopes),
            state=request.state,
            nonce=request.nonce,
            code_challenge=request.code_challenge,
            code_challenge_method="S256",
        )
        return uri

    async def identity(
        self,
        provider_id: str,
        *,
        code: str,
        code_verifier: str,
        redirect_uri: str,
        nonce: str,
    ) -> UpstreamIdentity:
        config = self._config(provider_id)
        discovery = await self._discovery(provider_id)
        token = await self._trade(config, discovery, code, code_verifier, redirect_uri)
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise _invalid(config, "the token endpoint answered no id_token")
        claims = await self._checked_claims(config, discovery, id_token, nonce)
        email = claims.get("email")
        name = claims.get("name")
        return UpstreamIdentity(
            provider_id=provider_id,
            subject=claims["sub"],
            email=email if isinstance(email, str) and email else None,
            # Some providers send the JSON string "true" rather than the boolean.
            email_verified=claims.get("email_verified") in (True, "true"),
            name=name if isinstance(name, str) and name else None,
        )

    def _config(self, provider_id: str) -> OidcProviderConfig:
        config = self._configs.get(provider_id)
        if config is None:
            raise LookupError(f"no upstream provider {provider_id!r} is configured")
        return config

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self._timeout, verify=self._tls or True, follow_redirects=False
        )

    async def _discovery(self, provider_id: str) -> _Discovery:
        cached = self._discoveries.get(provider_id)
        if cached is not None and time.monotonic() - cached.fetched_at < self._cache_seconds:
            return cached
        config = self._configs[provider_id]
        try:
            document = await self._get_json(config.issuer.rstrip("/") + DISCOVERY_PATH)
            discovery = _read_discovery(config, document)
        except _Unreachable as error:
            log.warning(
                "upstream_provider_unreachable",
                provider=provider_id,
                issuer=config.issuer,
                reason=str(error),
            )
            raise UpstreamSignInFailed(UpstreamFailure.UNREACHABLE) from None
        self._discoveries[provider_id] = discovery
        return discovery

    async def _get_json(self, url: str) -> Mapping[str, Any]:
        try:
            async with self._client() as client:
                response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.TimeoutException:
            raise _Unreachable(f"no answer within {self._timeout:g} s from {url}") from None
        except httpx.HTTPError as error:
            raise _Unreachable(f"{type(error).__name__} on {url}") from None
        if response.status_code != httpx.codes.OK:
            raise _Unreachable(f"HTTP {response.status_code} from {url}")
        try:
            document = response.json()
        except ValueError:
            raise _Unreachable(f"no JSON from {url}") from None
        if not isinstance(document, dict):
            raise _Unreachable(f"no JSON object from {url}")
        return document

    async def _trade(
        self,
        config: OidcProviderConfig,
        discovery: _Discovery,
        code: str,
        code_verifier: str,
        redirect_uri: str,
    ) -> Mapping[str, Any]:
        try:
            async with _oauth2_client_class()(
                client_id=config.client_id,
                client_secret=config.client_secret,
                token_endpoint_auth_method=discovery.token_endpoint_auth_method,
                timeout=self._timeout,
                verify=self._tls or True,
            ) as client:
                token = await client.fetch_token(
                    discovery.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    redirect_uri=redirect_uri,
                    code_verifier=code_verifier,
                )
        except OAuthError as error:
            # The error code is the provider's word (invalid_grant, …); its description may
            # echo what was sent, so it is left out.
            log.info("upstream_token_refused", provider=config.id, error=error.error)
            raise UpstreamSignInFailed(UpstreamFailure.TOKEN_REFUSED) from None
        except InsecureTransportError:
            self._log_unreachable(config, "its token endpoint is plain HTTP beyond this machine")
            raise UpstreamSignInFailed(UpstreamFailure.UNREACHABLE) from None
        except httpx.HTTPStatusError as error:  # Authlib's for a 5xx, or a 4xx without JSON
            self._log_unreachable(config, f"HTTP {error.response.status_code} from token endpoint")
            raise UpstreamSignInFailed(UpstreamFailure.UNREACHABLE) from None
        except httpx.HTTPError as error:
            self._log_unreachable(config, f"{type(error).__name__} on token endpoint")
            raise UpstreamSignInFailed(UpstreamFailure.UNREACHABLE) from None
        except ValueError:  # a success whose body is no JSON object
            log.info("upstream_token_refused", provider=config.id, error="not json")
            raise UpstreamSignInFailed(UpstreamFailure.TOKEN_REFUSED) from None
        if not isinstance(token, Mapping):
            raise UpstreamSignInFailed(UpstreamFailure.TOKEN_REFUSED)
        return token

    def _log_unreachable(self, config: OidcProviderConfig, reason: str) -> None:
        log.warning(
            "upstream_provider_unreachable", provider=config.id, issuer=config.issuer, reason=reason
        )

    async def _checked_claims(
        self, config: OidcProviderConfig, discovery: _Discovery, id_token: str, nonce: str
    ) -> Mapping[str, Any]:
        try:
            kid = jws.extract_compact(id_token.encode()).headers().get("kid")
        except (JoseError, ValueError):
            raise _invalid(config, "not a signed JWT") from None
        keys = await self._signing_keys(config, discovery, fetch=False)
        try:
            token = _decoded(id_token, kid, keys)
        except _WrongKey:
            # The provider may have rotated its keys since they were fetched: fetched once
            # more, never in a loop. The token came from the token endpoint itself, so no
            # one else can make this fetch happen at will.
            if keys.fetched_now:
                raise _invalid(config, _WrongKey.reason(kid, keys)) from None
            keys = await self._signing_keys(config, discovery, fetch=True)
            try:
                token = _decoded(id_token, kid, keys)
            except _WrongKey:
                raise _invalid(config, _WrongKey.reason(kid, keys)) from None
        except (JoseError, ValueError) as error:
            raise _invalid(config, type(error).__name__) from None
        claims: Mapping[str, Any] = token.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(dict(claims))
        except JoseError as error:
            raise _invalid(config, str(error)) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        authorized_party = claims.get("azp")
        if (len(audiences) > 1 or authorized_party is not None) and (
            authorized_party != config.client_id
        ):
            raise _invalid(config, "azp is not the client")
        return claims

    async def _signing_keys(
        self, config: OidcProviderConfig, discovery: _Discovery, *, fetch: bool
    ) -> _Keys:
        cached = self._keys.get(config.id)
        if (
            not fetch
            and cached is not None
            and time.monotonic() - cached.fetched_at < self._cache_seconds
        ):
            return _Keys(keys=cached.keys, fetched_at=cached.fetched_at, fetched_now=False)
        try:
            document = await self._get_json(discovery.jwks_uri)
            keys = KeySet.import_key_set({"keys": _signature_keys(document)})
        except _Unreachable as error:
            self._log_unreachable(config, str(error))
            raise UpstreamSignInFailed(UpstreamFailure.UNREACHABLE) from None
        except (JoseError, ValueError, TypeError, KeyError):
            self._log_unreachable(config, "its JWKS holds no usable key")
            raise UpstreamSignInFailed(UpstreamFailure.UNREACHABLE) from None
        loaded = _Keys(keys=keys, fetched_at=time.monotonic(), fetched_now=True)
        self._keys[config.id] = loaded
        return loaded


class _WrongKey(Exception):
    """The token names no key the provider's key set holds, or its signature does not check
    out with the one it names."""

    @staticmethod
    def reason(kid: object, keys: _Keys) -> str:
        if kid is None and len(keys.keys.keys) > 1:
            return "no kid, and the provider has several keys"
        if kid is not None and not any(key.kid == kid for key in keys.keys.keys):
            return "its kid is not among the provider's keys"
        return "BadSignatureError"


def _decoded(id_token: str, kid: object, keys: _Keys) -> jwt.Token:
    # Without a kid, the key is only certain when there is one.
    if kid is None and len(keys.keys.keys) == 1:
        key = keys.keys.keys[0]
    else:
        matching = [key for key in keys.keys.keys if kid is not None and key.kid == kid]
        if len(matching) != 1:
            raise _WrongKey
        [key] = matching
    try:
        return jwt.decode(id_token, key, algorithms=list(ID_TOKEN_ALGORITHMS))
    except BadSignatureError:
        raise _WrongKey from None


def _invalid(config: OidcProviderConfig, reason: str) -> UpstreamSignInFailed:
    log.warning("upstream_id_token_refused", provider=config.id, reason=reason)
    return UpstreamSignInFailed(UpstreamFailure.INVALID_ID_TOKEN)


def _signature_keys(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The JWKS's keys that may sign: those marked for encryption are left out."""
    listed = document.get("keys")
    if not isinstance(listed, list):
        raise ValueError("no keys")
    return [
        key
        for key in listed
        if isinstance(key, dict) and key.get("use", "sig") == "sig" and key.get("kty") != "oct"
    ]


def _read_discovery(config: OidcProviderConfig, document: Mapping[str, Any]) -> _Discovery:
    if document.get("issuer") != config.issuer:
        raise _Unreachable(f"its discovery document names issuer {document.get('issuer')!r}")
    # Plain HTTP only for a provider configured at a plain HTTP (so local) issuer.
    schemes = ("https://", "http://") if config.issuer.startswith("http://") else ("https://",)
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or not value.startswith(schemes):
            raise _Unreachable(f"its discovery document has no {name} at an https:// address")
        endpoints[name] = value
    methods = document.get("token_endpoint_auth_methods_supported")
    # client_secret_basic is what the specification says to assume when none is listed.
    method = (
        "client_secret_post"
        if isinstance(methods, list)
        and "client_secret_basic" not in methods
        and "client_secret_post" in methods
        else "client_secret_basic"
    )
    return _Discovery(
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        token_endpoint_auth_method=method,
        fetched_at=time.monotonic(),
    )


def _oauth2_client_class() -> Any:
    """Authlib's httpx client, imported on first use: every process would otherwise pay for the
    import at start-up, and Authlib 1.9 warns at that import that its httpx integration is
    moving to httpx2, a notice for this project's maintainers (README says so), not a line for
    every command's output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from authlib.integrations.httpx_client import AsyncOAuth2Client

    return AsyncOAuth2Client

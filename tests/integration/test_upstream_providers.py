"""The upstream providers' adapter against a real OpenID provider (oidc-provider-mock): discovery
fetched once and kept, an unreachable provider that stops no other, the whole code flow, and
every way the provider's answer can be refused."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from adapters.upstream import oidc_providers
from adapters.upstream.oidc_providers import OidcProviderConfig, OidcProviders
from application.ports.upstream import (
    UpstreamAuthorization,
    UpstreamFailure,
    UpstreamIdentity,
    UpstreamSignInFailed,
)
from tests.oidc_provider import choose_user, oidc_provider, proxy, put_user

CLIENT_ID = "portcullis-test"
CLIENT_SECRET = "upstream-client-secret"
REDIRECT_URI = "http://portcullis.example/login/mock/callback"

# The provider runs on Authlib's server side through calls Authlib has since deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider() as address:
        put_user(
            address,
            "ada",
            {"email": "ada@example.com", "email_verified": True, "name": "Ada Lovelace"},
        )
        put_user(address, "bob", {"email": "bob@example.com", "email_verified": False})
        yield address


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MutableMapping[str, Any]]]:
    """The adapter's log lines during the test. Its logger is made anew: one another test has
    used may be cached under that test's configuration, out of the capture's reach."""
    monkeypatch.setattr(oidc_providers, "log", structlog.get_logger("portcullis"))
    with capture_logs() as lines:
        yield lines


@pytest.fixture(scope="module")
def other_issuer() -> Iterator[str]:
    """Another provider: its own signing key."""
    with oidc_provider() as address:
        yield address


def config(provider_id: str, issuer: str) -> OidcProviderConfig:
    return OidcProviderConfig(
        id=provider_id,
        name=provider_id.title(),
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def authorization(provider_id: str) -> tuple[UpstreamAuthorization, str]:
    """A fresh request and the verifier its challenge was made from."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    request = UpstreamAuthorization(
        provider_id=provider_id,
        state=secrets.token_urlsafe(16),
        nonce=secrets.token_urlsafe(16),
        code_challenge=challenge.decode().rstrip("="),
        redirect_uri=REDIRECT_URI,
    )
    return request, verifier


async def sign_in(
    providers: OidcProviders, provider_id: str, subject: str, *, nonce: str | None = None
) -> UpstreamIdentity:
    request, verifier = authorization(provider_id)
    callback = await choose_user(await providers.authorization_url(request), subject)
    assert callback["state"] == request.state
    return await providers.identity(
        provider_id,
        code=callback["code"],
        code_verifier=verifier,
        redirect_uri=REDIRECT_URI,
        nonce=request.nonce if nonce is None else nonce,
    )


async def published_keys(issuer: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        keys: list[dict[str, Any]] = (await client.get(f"{issuer}/jwks")).json()["keys"]
    return keys


def refusal_reasons(logs: Sequence[Mapping[str, Any]]) -> list[str]:
    return [line["reason"] for line in logs if line["event"] == "upstream_id_token_refused"]


def unreachable_lines(logs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [line for line in logs if line["event"] == "upstream_provider_unreachable"]


async def test_the_whole_flow_names_who_signed_in_at_the_provider(issuer: str) -> None:
    providers = OidcProviders([config("mock", issuer)])

    ada = await sign_in(providers, "mock", "ada")
    bob = await sign_in(providers, "mock", "bob")

    assert ada == UpstreamIdentity(
        provider_id="mock",
        subject="ada",
        email="ada@example.com",
        email_verified=True,
        name="Ada Lovelace",
    )
    assert (bob.subject, bob.email, bob.email_verified, bob.name) == (
        "bob",
        "bob@example.com",
        False,
        None,
    )


async def test_the_authorization_url_carries_the_request(issuer: str) -> None:
    providers = OidcProviders([config("mock", issuer)])
    request, _ = authorization("mock")

    url = httpx.URL(await providers.authorization_url(request))

    assert str(url).startswith(f"{issuer}/oauth2/authorize?")
    assert dict(url.params) == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile",
        "state": request.state,
        "nonce": request.nonce,
        "code_challenge": request.code_challenge,
        "code_challenge_method": "S256",
    }


async def test_the_discovery_document_is_fetched_once_and_kept(issuer: str) -> None:
    with proxy(issuer) as front:
        providers = OidcProviders([config("mock", front.url)])
        await providers.warm()
        await providers.warm()
        await providers.authorization_url(authorization("mock")[0])

        assert front.paths.count("/.well-known/openid-configuration") == 1


async def test_an_expired_discovery_document_is_fetched_again(issuer: str) -> None:
    with proxy(issuer) as front:
        providers = OidcProviders([config("mock", front.url)], cache_seconds=0)
        await providers.warm()
        await providers.authorization_url(authorization("mock")[0])

        assert front.paths.count("/.well-known/openid-configuration") == 2


async def test_an_unreachable_provider_is_logged_once_and_stops_no_other(
    issuer: str, logs: list[MutableMapping[str, Any]]
) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    providers = OidcProviders([config("down", down), config("mock", issuer)], timeout_seconds=2)

    await providers.warm()

    assert [
        (line["log_level"], line["provider"], line["issuer"]) for line in unreachable_lines(logs)
    ] == [("warning", "down", down)]
    assert CLIENT_SECRET not in repr(logs)
    assert [provider.id for provider in providers.configured()] == ["down", "mock"]
    with pytest.raises(UpstreamSignInFailed) as refused:
        await providers.authorization_url(authorization("down")[0])
    assert refused.value.failure is UpstreamFailure.UNREACHABLE
    assert (await sign_in(providers, "mock", "ada")).subject == "ada"


async def test_a_discovery_document_naming_another_issuer_is_refused(
    issuer: str, logs: list[MutableMapping[str, Any]]
) -> None:
    # Asked through the proxy with its own address, the provider names itself, not the proxy.
    with proxy(issuer, keep_host=False) as front:
        providers = OidcProviders([config("mock", front.url)])

        with pytest.raises(UpstreamSignInFailed) as refused:
            await providers.authorization_url(authorization("mock")[0])

    assert refused.value.failure is UpstreamFailure.UNREACHABLE
    [line] = unreachable_lines(logs)
    assert "issuer" in line["reason"]
    assert issuer in line["reason"]


async def test_a_nonce_other_than_the_requests_is_refused(
    issuer: str, logs: list[MutableMapping[str, Any]]
) -> None:
    providers = OidcProviders([config("mock", issuer)])

    with pytest.raises(UpstreamSignInFailed) as refused:
        await sign_in(providers, "mock", "ada", nonce="another-nonce")

    assert refused.value.failure is UpstreamFailure.INVALID_ID_TOKEN
    [reason] = refusal_reasons(logs)
    assert "nonce" in reason


async def test_a_code_is_traded_once(issuer: str, logs: list[MutableMapping[str, Any]]) -> None:
    providers = OidcProviders([config("mock", issuer)])
    request, verifier = authorization("mock")
    callback = await choose_user(await providers.authorization_url(request), "ada")

    async def trade() -> UpstreamIdentity:
        return await providers.identity(
            "mock",
            code=callback["code"],
            code_verifier=verifier,
            redirect_uri=REDIRECT_URI,
            nonce=request.nonce,
        )

    await trade()
    with pytest.raises(UpstreamSignInFailed) as refused:
        await trade()

    assert refused.value.failure is UpstreamFailure.TOKEN_REFUSED
    assert callback["code"] not in repr(logs)
    assert CLIENT_SECRET not in repr(logs)


async def test_a_made_up_code_is_refused(issuer: str) -> None:
    providers = OidcProviders([config("mock", issuer)])

    with pytest.raises(UpstreamSignInFailed) as refused:
        await providers.identity(
            "mock",
            code="made-up",
            code_verifier=secrets.token_urlsafe(48),
            redirect_uri=REDIRECT_URI,
            nonce="n",
        )

    assert refused.value.failure is UpstreamFailure.TOKEN_REFUSED


async def test_an_id_token_the_providers_keys_did_not_sign_is_refused(
    issuer: str, other_issuer: str, logs: list[MutableMapping[str, Any]]
) -> None:
    # The provider publishes another provider's key: its own tokens no longer check out.
    foreign = json.dumps({"keys": await published_keys(other_issuer)}).encode()
    with proxy(issuer, answers={"/jwks": foreign}) as front:
        providers = OidcProviders([config("mock", front.url)])

        with pytest.raises(UpstreamSignInFailed) as refused:
            await sign_in(providers, "mock", "ada")

        assert refused.value.failure is UpstreamFailure.INVALID_ID_TOKEN
        assert refusal_reasons(logs) == ["BadSignatureError"]
        # Just fetched, the keys are not fetched again for the same token.
        assert front.paths.count("/jwks") == 1


async def test_a_token_without_kid_is_refused_when_the_provider_has_several_keys(
    issuer: str, other_issuer: str, logs: list[MutableMapping[str, Any]]
) -> None:
    keys = await published_keys(issuer) + await published_keys(other_issuer)
    with proxy(issuer, answers={"/jwks": json.dumps({"keys": keys}).encode()}) as front:
        providers = OidcProviders([config("mock", front.url)])

        with pytest.raises(UpstreamSignInFailed) as refused:
            await sign_in(providers, "mock", "ada")

    assert refused.value.failure is UpstreamFailure.INVALID_ID_TOKEN
    assert refusal_reasons(logs) == ["no kid, and the provider has several keys"]


async def test_keys_the_provider_has_rotated_in_are_fetched_once_more(
    issuer: str, other_issuer: str
) -> None:
    with proxy(issuer) as front:
        providers = OidcProviders([config("mock", front.url)])
        await sign_in(providers, "mock", "ada")
        # The same address now answered by a provider with another signing key.
        front.upstream = other_issuer

        after_rotation = await sign_in(providers, "mock", "ada")
        await sign_in(providers, "mock", "ada")

        assert after_rotation.subject == "ada"
        assert front.paths.count("/jwks") == 2


async def test_a_token_endpoint_that_fails_is_unreachable_not_a_refusal(
    issuer: str, logs: list[MutableMapping[str, Any]]
) -> None:
    with proxy(issuer) as front:
        providers = OidcProviders([config("mock", front.url)])
        request, verifier = authorization("mock")
        callback = await choose_user(await providers.authorization_url(request), "ada")
        # The provider goes down between the redirect and the trade: its proxy answers 502.
        front.upstream = f"http://127.0.0.1:{closed_port()}"

        with pytest.raises(UpstreamSignInFailed) as refused:
            await providers.identity(
                "mock",
                code=callback["code"],
                code_verifier=verifier,
                redirect_uri=REDIRECT_URI,
                nonce=request.nonce,
            )

    assert refused.value.failure is UpstreamFailure.UNREACHABLE
    [line] = unreachable_lines(logs)
    assert line["reason"] == "HTTP 502 from token endpoint"

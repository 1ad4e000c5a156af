"""Upstream OpenID providers ("sign in with …"): what signing in through another provider needs
of it. The adapter speaks OpenID Connect (discovery, the authorization code flow with PKCE, the
ID token's checks); the use cases decide whom it signs in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from application.errors import ApplicationError


@dataclass(frozen=True, slots=True)
class UpstreamProvider:
    """`id` names it in addresses (`/login/{id}`) and settings; `name` is its button's label."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class UpstreamAuthorization:
    """One authorization request to send a browser to the provider with. `code_challenge` is
    the S256 challenge of a verifier the service keeps; `redirect_uri` is the exact callback
    registered at the provider."""

    provider_id: str
    state: str
    nonce: str
    code_challenge: str
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class UpstreamIdentity:
    """Who the provider says signed in, from an ID token whose signature, issuer, audience,
    expiry and nonce were checked. `email_verified` is true only when the provider said so."""

    provider_id: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


class UpstreamFailure(StrEnum):
    """Why a provider's part of a sign-in failed, as the audit trail and the page say it."""

    # Discovery, the token endpoint or the keys did not answer.
    UNREACHABLE = "provider_unreachable"
    # The token endpoint refused the code.
    TOKEN_REFUSED = "token_refused"  # noqa: S105 (a reason, not a secret)
    # The signature, iss, aud, exp or nonce of the ID token did not check out.
    INVALID_ID_TOKEN = "invalid_id_token"  # noqa: S105 (a reason, not a secret)


class UpstreamSignInFailed(ApplicationError):
    def __init__(self, failure: UpstreamFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


class UpstreamProviders(Protocol):
    def configured(self) -> Sequence[UpstreamProvider]:
        """Every provider the settings name, in their order, reachable or not."""

    def get(self, provider_id: str) -> UpstreamProvider | None: ...

    async def authorization_url(self, request: UpstreamAuthorization) -> str:
        """Where to send the browser: the provider's authorization endpoint with
        `response_type=code`, the client id, the scopes, `state`, `nonce` and the S256
        challenge. UpstreamSignInFailed(UNREACHABLE) when its discovery document cannot be had."""

    async def identity(
        self,
        provider_id: str,
        *,
        code: str,
        code_verifier: str,
        redirect_uri: str,
        nonce: str,
    ) -> UpstreamIdentity:
        """Trade the code at the provider's token endpoint (with the client's secret and the
        verifier) and check the ID token it answers; UpstreamSignInFailed otherwise."""

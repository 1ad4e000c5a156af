"""OpenID Connect Discovery 1.0: what a relying party's library reads to learn this provider's
endpoints, keys and abilities. Its issuer is PORTCULLIS_PUBLIC_URL (without a trailing slash),
and every URL in it starts with the issuer."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from domain.oauth_client import IdTokenAlgorithm
from domain.oauth_scope import Scope
from entrypoints.http.dependencies import container_of

PATH = "/.well-known/openid-configuration"
# The document changes only when the service is configured anew; an hour is what relying
# parties commonly keep it for anyway.
CACHE_CONTROL = "public, max-age=3600"
CLAIMS = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "sid",
    "name",
    "updated_at",
    "email",
    "email_verified",
)
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")

router = APIRouter(tags=["openid connect"])


class ProviderMetadata(BaseModel):
    """OpenID Connect Discovery 1.0 §3, with RFC 8414's revocation, introspection and PKCE
    members and RP-Initiated Logout's end_session_endpoint."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    revocation_endpoint: str
    introspection_endpoint: str
    end_session_endpoint: str
    scopes_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    grant_types_supported: list[str]
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    code_challenge_methods_supported: list[str]
    prompt_values_supported: list[str]
    claims_supported: list[str]
    claims_parameter_supported: bool
    request_parameter_supported: bool
    request_uri_parameter_supported: bool
    authorization_response_iss_parameter_supported: bool


@cache
def provider_metadata(issuer: str) -> bytes:
    """The document of this issuer, as JSON: made once, served as it is."""
    return (
        ProviderMetadata(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/oauth2/authorize",
            token_endpoint=f"{issuer}/oauth2/token",
            userinfo_endpoint=f"{issuer}/oauth2/userinfo",
            jwks_uri=f"{issuer}/.well-known/jwks.json",
            revocation_endpoint=f"{issuer}/oauth2/revoke",
            introspection_endpoint=f"{issuer}/oauth2/introspect",
            end_session_endpoint=f"{issuer}/oauth2/logout",
            scopes_supported=[scope.value for scope in Scope],
            response_types_supported=["code"],
            response_modes_supported=["query"],
            grant_types_supported=["authorization_code", "refresh_token"],
            subject_types_supported=["public"],
            # RS256 first: the algorithm of a client that registered none.
            id_token_signing_alg_values_supported=[
                algorithm.value for algorithm in IdTokenAlgorithm
            ],
            # "none": a public client, which proves itself with PKCE instead.
            token_endpoint_auth_methods_supported=[*CLIENT_AUTH_METHODS, "none"],
            revocation_endpoint_auth_methods_supported=[*CLIENT_AUTH_METHODS, "none"],
            # Introspection is for resource servers, which are confidential clients.
            introspection_endpoint_auth_methods_supported=list(CLIENT_AUTH_METHODS),
            code_challenge_methods_supported=["S256"],
            prompt_values_supported=["none", "login", "consent"],
            claims_supported=list(CLAIMS),
            claims_parameter_supported=False,
            request_parameter_supported=False,
            # Discovery's default for this one is true: said, since it is not supported.
            request_uri_parameter_supported=False,
            # RFC 9207: every answer at the redirect URI names the issuer.
            authorization_response_iss_parameter_supported=True,
        )
        .model_dump_json()
        .encode()
    )


@router.get(PATH, response_model=ProviderMetadata)
async def openid_configuration(request: Request) -> Response:
    """This OpenID Provider's metadata (OpenID Connect Discovery 1.0)."""
    issuer = container_of(request).settings().public_url
    return Response(
        provider_metadata(issuer),
        media_type="application/json",
        headers={"Cache-Control": CACHE_CONTROL},
    )

"""Token revocation (RFC 7009) and introspection (RFC 7662): a client gives a token back, or a
resource server asks whether one is still good. Errors are RFC 6749 §5.2 JSON, as at the token
endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from application.caller import Caller
from application.use_cases.oidc.introspect_token import (
    ActiveToken,
    IntrospectionCommand,
    IntrospectToken,
)
from application.use_cases.oidc.presented_token import TokenKind
from application.use_cases.oidc.revoke_token import RevocationCommand, RevokeToken
from application.use_cases.oidc.token_errors import TokenRequestRefused
from entrypoints.http.dependencies import container_of, rate_limited, request_caller, use_case
from entrypoints.http.oauth_requests import (
    NO_STORE,
    client_credentials,
    form_parameters,
    form_request_body,
    oauth_errors,
    refused_response,
)
from entrypoints.http.openapi import problems

router = APIRouter(tags=["openid connect"])

_TOKEN_FORM = form_request_body(
    ("token", "token_type_hint", "client_id", "client_secret"), required=("token",)
)

_INTROSPECTION: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "active": {"type": "boolean"},
                        "token_type": {"type": "string"},
                        "scope": {"type": "string"},
                        "client_id": {"type": "string"},
                        "sub": {"type": "string"},
                        "aud": {"type": "string"},
                        "iss": {"type": "string"},
                        "exp": {"type": "integer"},
                        "iat": {"type": "integer"},
                        "jti": {"type": "string"},
                        "sid": {"type": "string"},
                    },
                    "required": ["active"],
                }
            }
        }
    },
    **oauth_errors(400, 401),
    **problems(413, 503),
}


@router.post(
    "/oauth2/revoke",
    responses={
        200: {"description": "Revoked, or nothing to revoke"},
        **oauth_errors(400, 401),
        **problems(413, 429, 503),
    },
    openapi_extra=_TOKEN_FORM,
    dependencies=[rate_limited("oauth_revoke")],
)
async def revoke(
    request: Request,
    caller: Caller = request_caller(),
    revoke_token: RevokeToken = use_case(lambda c: c.revoke_token),
) -> Response:
    """Give back a refresh token or an access token: its session ends, with every token of it.
    A token that is unknown or already revoked is answered 200 all the same (RFC 7009 §2.2)."""
    try:
        parameters = await form_parameters(request)
        credentials = client_credentials(request, parameters)
        await revoke_token.execute(
            RevocationCommand(parameters=parameters, credentials=credentials, caller=caller)
        )
    except TokenRequestRefused as refusal:
        return refused_response(refusal)
    return Response(status_code=200, headers=NO_STORE)


@router.post("/oauth2/introspect", responses=_INTROSPECTION, openapi_extra=_TOKEN_FORM)
async def introspect(
    request: Request,
    introspect_token: IntrospectToken = use_case(lambda c: c.introspect_token),
) -> Response:
    """Whether a token is active, for a confidential client (a resource server): `active` is
    false as soon as the token's session ends. Not rate limited per address: a resource server
    may ask on every request it serves, and neither a 256-bit secret nor a token can be
    guessed."""
    try:
        parameters = await form_parameters(request)
        credentials = client_credentials(request, parameters)
        active = await introspect_token.execute(
            IntrospectionCommand(parameters=parameters, credentials=credentials)
        )
    except TokenRequestRefused as refusal:
        return refused_response(refusal)
    issuer = container_of(request).settings().public_url
    return JSONResponse(_introspection(active, issuer), headers=NO_STORE)


def _introspection(active: ActiveToken | None, issuer: str) -> dict[str, object]:
    """RFC 7662 §2.2: an inactive token is that one member and nothing else."""
    if active is None:
        return {"active": False}
    answer: dict[str, object] = {
        "active": True,
        "token_type": "Bearer" if active.kind is TokenKind.ACCESS_TOKEN else active.kind.value,
        "scope": " ".join(active.scope),
        "client_id": active.client_id,
        "sub": str(active.subject),
        "aud": active.client_id,
        "iss": issuer,
        "exp": int(active.expires_at.timestamp()),
        "iat": int(active.issued_at.timestamp()),
        "sid": str(active.session_id),
    }
    if active.token_id is not None:
        answer["jti"] = str(active.token_id)
    return answer

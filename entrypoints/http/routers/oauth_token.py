"""The OpenID provider's token endpoint (RFC 6749 §3.2, OpenID Connect Core §3.1.3)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from application.caller import Caller
from application.use_cases.oidc.token_endpoint import RequestTokens, TokenCommand
from application.use_cases.oidc.token_errors import TokenRequestRefused
from entrypoints.http.dependencies import rate_limited, request_caller, use_case
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

_REQUEST_BODY = form_request_body(
    (
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "scope",
        "client_id",
        "client_secret",
    ),
    required=("grant_type",),
)


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 with OpenID Connect's id_token; refresh_token only with offline_access."""

    access_token: str
    token_type: str
    expires_in: int
    id_token: str
    scope: str
    refresh_token: str | None = None


@router.post(
    "/oauth2/token",
    response_model=TokenResponse,
    responses={**oauth_errors(400, 401), **problems(413, 429, 503)},
    dependencies=[rate_limited("oauth_token")],
    openapi_extra=_REQUEST_BODY,
)
async def token(
    request: Request,
    caller: Caller = request_caller(),
    request_tokens: RequestTokens = use_case(lambda c: c.request_tokens),
) -> Response:
    """Trade an authorization code, or a refresh token, for tokens. Errors are RFC 6749 §5.2
    JSON, not problem documents: the client is an OAuth library."""
    try:
        parameters = await form_parameters(request)
        credentials = client_credentials(request, parameters)
        issued = await request_tokens.execute(
            TokenCommand(parameters=parameters, credentials=credentials, caller=caller)
        )
    except TokenRequestRefused as refusal:
        return refused_response(refusal)
    body = TokenResponse(
        access_token=issued.access_token,
        token_type="Bearer",  # noqa: S106 (RFC 6750's token type)
        expires_in=issued.expires_in,
        id_token=issued.id_token,
        scope=issued.scope,
        refresh_token=issued.refresh_token,
    )
    return JSONResponse(body.model_dump(exclude_none=True), headers=NO_STORE)

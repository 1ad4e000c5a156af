"""The UserInfo endpoint (OpenID Connect Core §5.3), reached with an OAuth access token as a
bearer token (RFC 6750): in the Authorization header, or, on POST, in the form body."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from application.errors import InvalidAccessToken
from application.use_cases.oidc.token_endpoint import single_values
from application.use_cases.oidc.token_errors import TokenRequestRefused, invalid_request
from application.use_cases.oidc.userinfo import ReadUserInfo
from entrypoints.http.dependencies import use_case
from entrypoints.http.oauth_requests import (
    FORM_MEDIA_TYPE,
    NO_STORE,
    form_parameters,
    oauth_error_response,
    oauth_errors,
)
from entrypoints.http.openapi import problems

PATH = "/oauth2/userinfo"

router = APIRouter(tags=["openid connect"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "sub": {"type": "string"},
                        "name": {"type": "string"},
                        "updated_at": {"type": "integer"},
                        "email": {"type": "string"},
                        "email_verified": {"type": "boolean"},
                    },
                    "required": ["sub"],
                }
            }
        }
    },
    **oauth_errors(400, 401),
    **problems(413, 503),
}


@router.get(PATH, responses=_RESPONSES)
async def userinfo(
    request: Request, read: ReadUserInfo = use_case(lambda c: c.read_userinfo)
) -> Response:
    """The claims the access token's scopes release: `sub`; `name`, `updated_at` (profile);
    `email`, `email_verified` (email)."""
    return await _answer(request, read, form=False)


@router.post(PATH, responses=_RESPONSES)
async def userinfo_by_post(
    request: Request, read: ReadUserInfo = use_case(lambda c: c.read_userinfo)
) -> Response:
    """As GET; the token may also come as the form's `access_token` (RFC 6750 §2.2)."""
    return await _answer(request, read, form=True)


async def _answer(request: Request, read: ReadUserInfo, *, form: bool) -> Response:
    try:
        token = await _bearer_token(request, form=form)
    except TokenRequestRefused as refusal:
        return oauth_error_response(
            400, refusal.error.value, refusal.description, {"WWW-Authenticate": "Bearer"}
        )
    if token is None:
        # RFC 6750 §3.1: a request without a token is told how to authenticate, no error code.
        return oauth_error_response(
            401,
            "invalid_request",
            "a bearer access token is required",
            {"WWW-Authenticate": "Bearer"},
        )
    try:
        claims = await read.execute(token)
    except InvalidAccessToken:
        return oauth_error_response(
            401,
            "invalid_token",
            "the access token is invalid, expired or revoked",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return JSONResponse(claims, headers=NO_STORE)


async def _bearer_token(request: Request, *, form: bool) -> str | None:
    """The one bearer token the request carries (RFC 6750 §2: never in two places)."""
    header = request.headers.get("authorization")
    from_header = None
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise invalid_request("the Authorization header must be Bearer")
        from_header = value.strip()
    from_form = None
    if form and request.headers.get("content-type", "").startswith(FORM_MEDIA_TYPE):
        from_form = single_values(await form_parameters(request)).get("access_token")
    if from_header is not None and from_form is not None:
        raise invalid_request("send the access token once, not twice")
    return from_header or from_form

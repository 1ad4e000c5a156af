"""One table from exceptions to (status, code), and the handlers that render them."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount

from application.errors import (
    AccountDisabled,
    CurrentPasswordRequired,
    EmailAlreadyRegistered,
    Forbidden,
    InvalidAccessToken,
    InvalidCredentials,
    InvalidCurrentPassword,
    InvalidCursor,
    InvalidMfaCode,
    InvalidMfaToken,
    InvalidOrExpiredToken,
    InvalidPasskey,
    InvalidRefreshToken,
    InvalidWebhook,
    LastAdmin,
    LastLoginMethod,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    MfaRequired,
    NotFound,
    RefreshTokenReused,
    StorageUnavailable,
    TooManyRequests,
    UnsafeWebhookTarget,
)
from domain.errors import InvalidDisplayName, InvalidEmail, WeakPassword
from domain.oauth_client import ClientHasNoSecret, InvalidOAuthClient
from entrypoints.http.pages.rendering import error_page, wants_a_page
from entrypoints.http.problems import problem_response

RETRY_AFTER_SECONDS = "5"


class NotAuthenticated(Exception):
    """The request carried no bearer token."""

    def __init__(self) -> None:
        super().__init__("this endpoint needs a bearer token")


class MfaCodeRefusedAtLogin(Exception):
    """A wrong second-step code at /auth/mfa: a failed authentication there (401), where the
    same code elsewhere is a bad field of a request by someone authenticated (400)."""

    def __init__(self) -> None:
        super().__init__("the code is wrong, expired or already used")


class PayloadTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413)


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    status: int
    code: str
    headers: dict[str, str] = field(default_factory=dict)
    loc: tuple[str, ...] = ("body",)  # where a 422 points


ERRORS: dict[type[Exception], ErrorSpec] = {
    WeakPassword: ErrorSpec(422, "weak_password"),
    InvalidEmail: ErrorSpec(422, "validation_error"),
    InvalidDisplayName: ErrorSpec(422, "validation_error"),
    EmailAlreadyRegistered: ErrorSpec(409, "email_taken"),
    InvalidCredentials: ErrorSpec(401, "invalid_credentials", {"WWW-Authenticate": "Bearer"}),
    AccountDisabled: ErrorSpec(403, "account_disabled"),
    NotAuthenticated: ErrorSpec(401, "not_authenticated", {"WWW-Authenticate": "Bearer"}),
    InvalidAccessToken: ErrorSpec(
        401, "invalid_token", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    ),
    InvalidRefreshToken: ErrorSpec(
        401, "invalid_refresh_token", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    ),
    RefreshTokenReused: ErrorSpec(
        401, "refresh_token_reused", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    ),
    InvalidCurrentPassword: ErrorSpec(400, "invalid_current_password"),
    CurrentPasswordRequired: ErrorSpec(422, "validation_error", loc=("body", "current_password")),
    NotFound: ErrorSpec(404, "not_found"),
    TooManyRequests: ErrorSpec(429, "too_many_requests"),
    Forbidden: ErrorSpec(403, "forbidden"),
    LastAdmin: ErrorSpec(409, "last_admin"),
    InvalidCursor: ErrorSpec(422, "validation_error", loc=("query", "cursor")),
    InvalidOrExpiredToken: ErrorSpec(400, "invalid_or_expired_token"),
    StorageUnavailable: ErrorSpec(503, "service_unavailable", {"Retry-After": RETRY_AFTER_SECONDS}),
    MfaRequired: ErrorSpec(403, "mfa_required"),
    InvalidMfaToken: ErrorSpec(401, "invalid_mfa_token"),
    MfaCodeRefusedAtLogin: ErrorSpec(401, "invalid_mfa_code"),
    InvalidMfaCode: ErrorSpec(400, "invalid_mfa_code"),
    MfaAlreadyEnabled: ErrorSpec(409, "mfa_already_enabled"),
    MfaNotEnabled: ErrorSpec(409, "mfa_not_enabled"),
    InvalidPasskey: ErrorSpec(400, "invalid_passkey"),
    LastLoginMethod: ErrorSpec(409, "last_login_method"),
    InvalidOAuthClient: ErrorSpec(422, "validation_error"),
    ClientHasNoSecret: ErrorSpec(422, "validation_error", loc=("path", "client_id")),
    InvalidWebhook: ErrorSpec(422, "validation_error"),
    UnsafeWebhookTarget: ErrorSpec(422, "validation_error", loc=("body", "url")),
}

# Codes for the errors the framework raises itself (unknown path, wrong method, ...).
HTTP_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
HTTP_STATUS_DETAILS = {
    404: "there is nothing at this path",
    405: "this path does not support this method",
    413: "the request body is too large",
}


async def _application_error(request: Request, error: Exception) -> Response:
    spec = next(spec for kind, spec in ERRORS.items() if isinstance(error, kind))
    errors = None
    if spec.status == 422:
        errors = [{"loc": list(spec.loc), "message": str(error), "type": spec.code}]
    headers = dict(spec.headers)
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after_seconds)
    if wants_a_page(request):
        return error_page(request, spec.status, _sentence(str(error)), headers)
    extra = None
    if isinstance(error, MfaRequired):
        extra = {"mfa_token": error.mfa_token, "methods": list(error.methods)}
    return problem_response(
        spec.status, spec.code, str(error), headers=headers, errors=errors, extra=extra
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if isinstance(error.__cause__, UnicodeDecodeError):
        # FastAPI answers a JSON body that is not UTF-8 with a bare 400; JSON is UTF-8
        # (RFC 8259), so that is malformed JSON like any other: 422.
        return await _validation_error(request, NOT_UTF8_JSON)
    code = HTTP_STATUS_CODES.get(error.status_code, "http_error")
    detail = HTTP_STATUS_DETAILS.get(error.status_code) or str(error.detail)
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    if wants_a_page(request):
        return error_page(request, error.status_code, _sentence(detail), headers)
    return problem_response(error.status_code, code, detail, headers=headers)


NOT_UTF8_JSON = RequestValidationError(
    [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error: not UTF-8"}]
)


def _allowed_methods(request: Request) -> str:
    """Every method the path supports. The framework's 405 names only the methods of the one
    route it matched, though GET, PATCH and DELETE /api/v1/users/me, say, are three routes.
    (Mounts are left out: the static files name their own.)"""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        probe = {
            "type": "http",
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "method": method,
            "headers": [],
        }
        routes = request.app.router.routes
        if any(not isinstance(r, Mount) and r.matches(probe)[0] is Match.FULL for r in routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    if wants_a_page(request):
        return error_page(request, 422, "the request is not valid")
    # Never echo the submitted values (a password could be among them): only where and why.
    errors = [
        {"loc": list(item["loc"]), "message": item["msg"], "type": item["type"]}
        for item in error.errors()
    ]
    return problem_response(422, "validation_error", "the request is not valid", errors=errors)


def _sentence(detail: str) -> str:
    return detail[:1].upper() + detail[1:] + "."


def install_error_handlers(app: FastAPI) -> None:
    for kind in ERRORS:
        app.add_exception_handler(kind, _application_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)

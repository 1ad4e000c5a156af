"""One table from exceptions to (status, code), and the handlers that render them."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from application.errors import (
    AccountDisabled,
    EmailAlreadyRegistered,
    Forbidden,
    InvalidAccessToken,
    InvalidCredentials,
    InvalidCurrentPassword,
    InvalidCursor,
    InvalidOrExpiredToken,
    InvalidRefreshToken,
    LastAdmin,
    NotFound,
    RefreshTokenReused,
    StorageUnavailable,
)
from domain.errors import InvalidDisplayName, InvalidEmail, WeakPassword
from entrypoints.http.problems import problem_response

RETRY_AFTER_SECONDS = "5"


class NotAuthenticated(Exception):
    """The request carried no bearer token."""

    def __init__(self) -> None:
        super().__init__("this endpoint needs a bearer token")


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
    NotFound: ErrorSpec(404, "not_found"),
    Forbidden: ErrorSpec(403, "forbidden"),
    LastAdmin: ErrorSpec(409, "last_admin"),
    InvalidCursor: ErrorSpec(422, "validation_error", loc=("query", "cursor")),
    InvalidOrExpiredToken: ErrorSpec(400, "invalid_or_expired_token"),
    StorageUnavailable: ErrorSpec(503, "service_unavailable", {"Retry-After": RETRY_AFTER_SECONDS}),
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
    return problem_response(spec.status, spec.code, str(error), headers=spec.headers, errors=errors)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = HTTP_STATUS_CODES.get(error.status_code, "http_error")
    detail = HTTP_STATUS_DETAILS.get(error.status_code) or str(error.detail)
    return problem_response(error.status_code, code, detail, headers=error.headers)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    # Never echo the submitted values (a password could be among them): only where and why.
    errors = [
        {"loc": list(item["loc"]), "message": item["msg"], "type": item["type"]}
        for item in error.errors()
    ]
    return problem_response(422, "validation_error", "the request is not valid", errors=errors)


def install_error_handlers(app: FastAPI) -> None:
    for kind in ERRORS:
        app.add_exception_handler(kind, _application_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)

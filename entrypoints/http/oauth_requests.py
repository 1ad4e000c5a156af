"""Reading an OAuth request the way RFC 6749 and RFC 6750 write it: form parameters, the
client's credentials (HTTP Basic or the form), a bearer token; and answering its errors as
the JSON of RFC 6749 §5.2 that clients' libraries read, rather than the API's problems."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from application.use_cases.oidc.client_authentication import ClientAuthMethod, ClientCredentials
from application.use_cases.oidc.token_endpoint import single_values
from application.use_cases.oidc.token_errors import (
    TokenError,
    TokenRequestRefused,
    invalid_request,
)

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

Parameters = Sequence[tuple[str, str]]
MAX_FORM_FIELDS = 100


class OAuthError(BaseModel):
    """RFC 6749 §5.2."""

    error: str
    error_description: str


def oauth_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of an OAuth endpoint: these statuses answer with OAuthError, which the
    OpenAPI document keeps (every other error status there is a problem)."""
    return {status: {"model": OAuthError} for status in statuses}


def form_request_body(fields: Sequence[str], required: Sequence[str]) -> dict[str, Any]:
    """The `openapi_extra` of an endpoint whose form is read by hand (so that a parameter sent
    twice is seen and refused, RFC 6749 §3.2): the document still describes it."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                FORM_MEDIA_TYPE: {
                    "schema": {
                        "type": "object",
                        "properties": {name: {"type": "string"} for name in fields},
                        "required": list(required),
                    }
                }
            },
        }
    }


def oauth_error_response(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )


def refused_response(refusal: TokenRequestRefused) -> JSONResponse:
    if refusal.error is not TokenError.INVALID_CLIENT:
        return oauth_error_response(400, refusal.error.value, refusal.description)
    headers = {"WWW-Authenticate": 'Basic realm="portcullis"'} if refusal.basic_challenge else {}
    return oauth_error_response(401, refusal.error.value, refusal.description, headers)


async def form_parameters(request: Request) -> Parameters:
    """The parameters of a form-encoded body, as sent; invalid_request for any other body.

    Read with the standard library's parser rather than Starlette's form parser: these forms are
    a few short fields, sent on every request a resource server serves, and parse_qsl reads them
    several times faster. It decodes as the form parser does (`+` and percent-escapes, UTF-8)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise invalid_request(f"the body must be {FORM_MEDIA_TYPE}")
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        return parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise invalid_request(f"a form has at most {MAX_FORM_FIELDS} fields") from None


def client_credentials(request: Request, parameters: Parameters) -> ClientCredentials | None:
    """The credentials of the one authentication method the client used, or None when it used
    none at all; invalid_request when it used two (RFC 6749 §2.3)."""
    values = single_values(parameters)
    form_id = values.get("client_id")
    form_secret = values.get("client_secret")
    basic = _basic_credentials(request.headers.get("authorization"))
    if basic is not None:
        if form_secret is not None or (form_id is not None and form_id != basic.client_id):
            raise invalid_request("use one client authentication method, not two")
        return basic
    if form_id is None:
        if form_secret is not None:
            raise invalid_request("client_secret was sent without client_id")
        return None
    if form_secret is None:
        return ClientCredentials(ClientAuthMethod.NONE, form_id)
    return ClientCredentials(ClientAuthMethod.CLIENT_SECRET_POST, form_id, form_secret)


def _basic_credentials(authorization: str | None) -> ClientCredentials | None:
    """RFC 6749 §2.3.1: the id and the secret are each form-url-encoded, then joined by a
    colon and sent as HTTP Basic (RFC 7617)."""
    if authorization is None:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        raise TokenRequestRefused(
            TokenError.INVALID_CLIENT, "malformed HTTP Basic credentials", basic_challenge=True
        )
    return ClientCredentials(
        ClientAuthMethod.CLIENT_SECRET_BASIC, unquote_plus(client_id), unquote_plus(secret)
    )

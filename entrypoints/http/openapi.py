"""Every error in /openapi.json is application/problem+json, with its schema."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from entrypoints.http.problems import PROBLEM_MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem document.",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable snake_case error code."},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "message", "type"],
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
        "mfa_token": {
            "type": "string",
            "description": "With `mfa_required`: send it to /api/v1/auth/mfa with a code.",
        },
        "methods": {
            "type": "array",
            "items": {"type": "string", "enum": ["totp", "recovery_code"]},
            "description": "With `mfa_required`: what the second step accepts.",
        },
    },
}


OAUTH_ERROR_SCHEMA_REF = "#/components/schemas/OAuthError"


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: which error statuses it can answer with."""
    return {status: {"description": HTTPStatus(status).phrase} for status in statuses}


def _is_oauth_error(response: dict[str, Any]) -> bool:
    """An OAuth endpoint's error (RFC 6749 §5.2 JSON, which clients' libraries read), declared
    with entrypoints.http.oauth_requests.oauth_errors: kept as it is, not made a problem."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == OAUTH_ERROR_SCHEMA_REF)


def install_problem_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = PROBLEM_SCHEMA
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    for status, response in operation.get("responses", {}).items():
                        if _is_oauth_error(response):
                            continue
                        if status.isdigit() and int(status) >= 400:
                            response["description"] = HTTPStatus(int(status)).phrase
                            # The HTML pages answer some errors with a page; keep that, and
                            # add the problem document every route may answer with.
                            html = response.get("content", {}).get("text/html")
                            response["content"] = {
                                PROBLEM_MEDIA_TYPE: {
                                    "schema": {"$ref": "#/components/schemas/Problem"}
                                },
                                **(
                                    {"text/html": {"schema": {"type": "string"}}}
                                    if html is not None
                                    else {}
                                ),
                            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

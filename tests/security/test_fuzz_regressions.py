"""What the fuzzer (test_fuzz.py) found, one regression test per finding, over HTTP through the
real app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LogIn, SignUp, bearer

PROBLEM = "application/problem+json"


async def _openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    schema: dict[str, Any] = (await client.get("/openapi.json")).json()
    return schema


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/verify-email",
    ],
)
async def test_a_json_body_that_is_not_utf8_is_422_like_any_malformed_json(
    client: httpx.AsyncClient, path: str
) -> None:
    # Was a bare 400 "There was an error parsing the body", documented nowhere.
    not_utf8 = await client.post(
        path,
        content=b'{"email": "\xff\xfe@example.com", "password": "x"}',
        headers={"content-type": "application/json"},
    )
    not_json = await client.post(
        path, content=b'{"email": ', headers={"content-type": "application/json"}
    )
    for response in (not_utf8, not_json):
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == "validation_error"
        assert [error["type"] for error in response.json()["errors"]] == ["json_invalid"]
    assert "\xff" not in not_utf8.text  # nothing of the body is echoed


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/users/me", {"GET", "PATCH", "DELETE"}),
        ("/api/v1/users/me/sessions", {"GET", "DELETE"}),
        ("/api/v1/users", {"GET", "POST"}),
        ("/api/v1/users/1b4e28ba-2fa1-11d2-883f-0016d3cca427", {"GET", "PATCH", "DELETE"}),
        ("/reset-password", {"GET", "POST"}),
        ("/api/v1/auth/login", {"POST"}),
    ],
)
async def test_a_405_names_every_method_of_the_path_in_allow(
    client: httpx.AsyncClient, path: str, methods: set[str]
) -> None:
    # Allow used to name only the first route that matched: `GET` for /api/v1/users/me.
    for method in ("OPTIONS", "TRACE", "PUT"):
        response = await client.request(method, path)
        assert response.status_code == 405
        assert set(response.headers["allow"].split(", ")) == methods
        assert response.headers["content-type"] == PROBLEM


async def test_a_token_form_that_cannot_be_parsed_is_a_documented_400(
    client: httpx.AsyncClient,
) -> None:
    # The multipart parser's 400 was not among the statuses /openapi.json listed.
    response = await client.post(
        "/api/v1/auth/token",
        content=b"username=ada%40example.com&password=x",
        headers={"content-type": "multipart/form-data"},  # no boundary
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "bad_request"
    documented = (await _openapi(client))["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert PROBLEM in documented["400"]["content"]


async def test_fields_that_refuse_null_are_not_documented_as_nullable(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    # A client generated from /openapi.json would have sent the null the server refuses.
    schemas = (await _openapi(client))["components"]["schemas"]
    for model, fields in {
        "UpdateMeRequest": ["email"],
        "AdminUpdateUserRequest": ["email", "role", "is_active", "is_verified"],
    }.items():
        properties = schemas[model]["properties"]
        for field in fields:
            assert "anyOf" not in properties[field], (model, field)
            assert "default" not in properties[field], (model, field)
        # `name: null` clears the name: that one is nullable, but never empty.
        assert {"type": "null"} in properties["name"]["anyOf"]
        assert {"type": "string", "minLength": 1, "maxLength": 100} in properties["name"]["anyOf"]
    await sign_up()
    headers = bearer(await log_in())
    for body in ({"email": None}, {"name": ""}):
        response = await client.patch("/api/v1/users/me", json=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
    assert (await client.patch("/api/v1/users/me", json={"name": None}, headers=headers)).is_success

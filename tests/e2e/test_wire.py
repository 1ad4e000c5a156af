"""Contract §2: the conventions every response keeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD

# The contract's endpoint tables (sections 5, 6 and 7), every row.
CONTRACT_OPERATIONS = {
    ("GET", "/oauth2/authorize"),
    ("POST", "/oauth2/authorize"),
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password/forgot"),
    ("POST", "/api/v1/auth/password/reset"),
    ("POST", "/api/v1/auth/verify-email/request"),
    ("POST", "/api/v1/auth/verify-email"),
    ("GET", "/api/v1/users/me"),
    ("PATCH", "/api/v1/users/me"),
    ("PUT", "/api/v1/users/me/password"),
    ("DELETE", "/api/v1/users/me"),
    ("GET", "/api/v1/users/me/sessions"),
    ("DELETE", "/api/v1/users/me/sessions/{session_id}"),
    ("DELETE", "/api/v1/users/me/sessions"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{user_id}"),
    ("PATCH", "/api/v1/users/{user_id}"),
    ("DELETE", "/api/v1/users/{user_id}"),
    ("DELETE", "/api/v1/users/{user_id}/mfa"),
    ("POST", "/api/v1/invitations"),
    ("GET", "/api/v1/audit-events"),
    ("GET", "/api/v1/users/me/mfa"),
    ("POST", "/api/v1/users/me/mfa/totp"),
    ("POST", "/api/v1/users/me/mfa/totp/confirm"),
    ("DELETE", "/api/v1/users/me/mfa/totp"),
    ("POST", "/api/v1/users/me/mfa/recovery-codes"),
    ("POST", "/api/v1/auth/mfa"),
    ("POST", "/api/v1/users/me/passkeys/options"),
    ("POST", "/api/v1/users/me/passkeys"),
    ("GET", "/api/v1/users/me/passkeys"),
    ("PATCH", "/api/v1/users/me/passkeys/{passkey_id}"),
    ("DELETE", "/api/v1/users/me/passkeys/{passkey_id}"),
    ("POST", "/api/v1/auth/passkey/options"),
    ("POST", "/api/v1/auth/passkey/login"),
    ("GET", "/api/v1/oauth-clients"),
    ("POST", "/api/v1/oauth-clients"),
    ("GET", "/api/v1/oauth-clients/{client_id}"),
    ("PATCH", "/api/v1/oauth-clients/{client_id}"),
    ("DELETE", "/api/v1/oauth-clients/{client_id}"),
    ("POST", "/api/v1/oauth-clients/{client_id}/secret"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/api/v1/users/me/grants"),
    ("DELETE", "/api/v1/users/me/grants/{client_id}"),
    ("GET", "/accept-invitation"),
    ("GET", "/login"),
    ("GET", "/signup"),
    ("GET", "/forgot-password"),
    ("GET", "/account"),
    ("POST", "/logout"),
    ("GET", "/oauth2/logout"),
    ("POST", "/oauth2/token"),
    ("POST", "/oauth2/revoke"),
    ("POST", "/oauth2/introspect"),
    ("GET", "/api/v1/auth/providers"),
    ("GET", "/login/{provider}"),
    ("GET", "/login/{provider}/callback"),
    ("GET", "/api/v1/users/me/identities"),
    ("DELETE", "/api/v1/users/me/identities/{identity_id}"),
    ("GET", "/oauth2/userinfo"),
    ("POST", "/oauth2/userinfo"),
    ("GET", "/reset-password"),
    ("GET", "/verify-email"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/webhooks"),
    ("POST", "/api/v1/webhooks"),
    ("GET", "/api/v1/webhooks/{webhook_id}"),
    ("PATCH", "/api/v1/webhooks/{webhook_id}"),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"),
    ("POST", "/api/v1/webhooks/{webhook_id}/test"),
}
# Their clients are OAuth libraries, which read RFC 6749 §5.2's JSON (`error`,
# `error_description`) from a 400 or 401, not a problem document; every other error status there
# is a problem as everywhere else.
OAUTH_ERRORS = {
    (path, status)
    for path in ("/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/oauth2/userinfo")
    for status in ("400", "401")
}
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "request_id"}


async def test_every_response_carries_a_request_id_and_nosniff(client: httpx.AsyncClient) -> None:
    for response in [
        await client.get("/healthz"),
        await client.get("/nowhere"),
        await client.post("/api/v1/auth/login", json={}),
    ]:
        assert len(response.headers["x-request-id"]) >= 16
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_each_request_without_an_id_gets_a_new_one(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


async def test_a_sane_client_request_id_is_echoed_and_put_in_problems(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/nowhere", headers={"X-Request-ID": "trace-42.abc"})
    assert response.headers["x-request-id"] == "trace-42.abc"
    assert response.json()["request_id"] == "trace-42.abc"
    insane = await client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 200})
    assert insane.headers["x-request-id"] != "<script>" + "x" * 200
    assert "<" not in insane.headers["x-request-id"]


async def test_unknown_paths_are_404_problems(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == PROBLEM_FIELDS
    assert body["code"] == "not_found"
    assert body["status"] == 404


async def test_a_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/auth/login")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"


async def test_a_body_over_the_limit_is_413_by_its_declared_length(
    client: httpx.AsyncClient,
) -> None:
    big = b'{"email": "' + b"a" * 70_000 + b'"}'
    response = await client.post(
        "/api/v1/auth/signup", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_a_chunked_body_over_the_limit_is_413_while_reading(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "'
        for _ in range(100):
            yield b"a" * 1024  # 100 KiB in all, never announced by a Content-Length

    response = await client.post(
        "/api/v1/auth/signup", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_errors_show_no_internals(client: httpx.AsyncClient) -> None:
    responses = [
        await client.post(
            "/api/v1/auth/signup", content=b"\xff\xfe", headers={"content-type": "application/json"}
        ),
        await client.post("/api/v1/auth/login", json={"email": ["x"], "password": {"a": 1}}),
        await client.get("/api/v1/users/me", headers={"Authorization": "Bearer ' OR 1=1 --"}),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500
        text = response.text.lower()
        for leak in ("traceback", "sqlalchemy", "select ", "/work/", ".py", "exception"):
            assert leak not in text


async def test_openapi_documents_every_error_as_a_problem(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "Problem" in schema["components"]["schemas"]
    operations: list[tuple[str, str, dict[str, Any]]] = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]
    documented = {(method.upper(), path) for path, method, _ in operations}
    assert documented >= CONTRACT_OPERATIONS, CONTRACT_OPERATIONS - documented
    for path, method, operation in operations:
        for status, response in operation["responses"].items():
            if (path, status) in OAUTH_ERRORS:
                assert list(response["content"]) == ["application/json"], (path, method)
                assert response["content"]["application/json"]["schema"]["$ref"].endswith(
                    "/OAuthError"
                )
            elif int(status) >= 400:
                media_types = list(response["content"])
                assert media_types[0] == "application/problem+json", (path, method)
                assert set(media_types) <= {"application/problem+json", "text/html"}
    login = schema["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert {"200", "401", "403", "413", "422", "503"} <= set(login)
    me = schema["paths"]["/api/v1/users/me"]["get"]["responses"]
    assert {"200", "401", "503"} <= set(me)


async def test_docs_are_served_from_this_origin_with_an_authorize_button(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in page.text
    assert "cdn." not in page.text
    script = await client.get("/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200
    schema = (await client.get("/openapi.json")).json()
    flows = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"


async def test_no_cors_headers_unless_origins_are_configured(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/v1/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers


class TestWithCorsOrigins:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"cors_origins": ["https://app.example"]}

    async def test_only_the_listed_origin_is_allowed(self, client: httpx.AsyncClient) -> None:
        allowed = await client.options(
            "/api/v1/auth/login",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        denied = await client.post(
            "/api/v1/auth/login",
            json={"email": "a@example.com", "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert "access-control-allow-origin" not in denied.headers


async def test_an_unexpected_failure_is_a_bare_500_problem(app: FastAPI) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals: SELECT password_hash FROM users")

    app.add_api_route("/explode", explode)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/explode", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "boom-1"
    body = response.json()
    assert body["code"] == "internal_error"
    assert body["request_id"] == "boom-1"
    assert "secret" not in response.text
    assert "SELECT" not in response.text


class TestRefusedPreflight:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"cors_origins": ["https://app.example"]}

    async def test_a_refused_preflight_is_a_problem_too(self, client: httpx.AsyncClient) -> None:
        response = await client.options(
            "/api/v1/auth/login",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "bad_request"
        assert "access-control-allow-origin" not in response.headers

"""Security headers on a sample of every kind of response, and CORS (contract §2):
nosniff and a Referrer-Policy everywhere, no-store on whatever may carry a token or
personal data, a strict Content-Security-Policy on the HTML pages, and no cross-origin access
unless PORTCULLIS_CORS_ORIGINS allows that one origin."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import LogIn, SignUp, bearer

EVIL_ORIGIN = "https://evil.example"
APP_ORIGIN = "https://app.example"
PAGES = [
    ("GET", "/reset-password?token=" + "t" * 43),
    ("GET", "/verify-email?token=" + "t" * 43),
    ("GET", "/reset-password"),  # the broken-link page, 400
    ("POST", "/verify-email"),  # a form posted with a spent token: 400
]


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    """Headers do not depend on the database: SQLite only."""
    return sqlite_database_url


async def sample(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> dict[str, httpx.Response]:
    await sign_up()
    tokens = await log_in()
    return {
        "login 200": await client.post(
            "/api/v1/auth/login",
            json={"email": "ada@example.com", "password": "correct horse battery staple"},
        ),
        "me 200": await client.get("/api/v1/users/me", headers=bearer(tokens)),
        "sessions 200": await client.get("/api/v1/users/me/sessions", headers=bearer(tokens)),
        "login 401": await client.post(
            "/api/v1/auth/login", json={"email": "ada@example.com", "password": "wrong password"}
        ),
        "me 401": await client.get("/api/v1/users/me"),
        "signup 422": await client.post("/api/v1/auth/signup", json={}),
        "api 404": await client.get("/api/v1/nothing-here"),
        "healthz": await client.get("/healthz"),
        "readyz": await client.get("/readyz"),
        "jwks": await client.get("/.well-known/jwks.json"),
        "docs": await client.get("/docs"),
        "openapi": await client.get("/openapi.json"),
        "404": await client.get("/nowhere"),
        **{f"{method} {path[:20]}": await page(client, method, path) for method, path in PAGES},
    }


async def page(client: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    if method == "POST":
        return await client.post(path, data={"token": "spent-or-forged"})
    return await client.get(path)


async def test_nosniff_on_every_response(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    for name, response in (await sample(client, sign_up, log_in)).items():
        assert response.headers.get("x-content-type-options") == "nosniff", name


async def test_referrer_policy_on_every_response(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    # The pages carry a token in their URL: nothing of it may leave in a Referer.
    for name, response in (await sample(client, sign_up, log_in)).items():
        assert response.headers.get("referrer-policy") == "no-referrer", name


async def test_no_store_on_everything_with_a_token_or_personal_data(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    for name, response in (await sample(client, sign_up, log_in)).items():
        path = response.request.url.path
        if path.startswith("/api/") or response.headers["content-type"].startswith("text/html"):
            if name == "docs":
                continue  # the same page for everyone, no token in it
            directives = {d.strip() for d in response.headers.get("cache-control", "").split(",")}
            assert "no-store" in directives, name


def _csp(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for directive in header.split(";"):
        name, *sources = directive.split()
        directives[name.lower()] = sources
    return directives


async def test_strict_csp_on_the_html_pages(client: httpx.AsyncClient) -> None:
    for method, path in PAGES:
        response = await page(client, method, path)
        assert response.headers["content-type"].startswith("text/html"), path
        csp = _csp(response.headers["content-security-policy"])
        assert csp["default-src"] == ["'none'"], path
        assert csp.get("script-src", ["'none'"]) == ["'none'"], path  # no script at all
        assert csp["frame-ancestors"] == ["'none'"], path
        assert csp["base-uri"] == ["'none'"], path
        assert csp["form-action"] == ["'self'"], path
        for name, sources in csp.items():
            for source in sources:
                assert source in ("'none'", "'self'"), (path, name, source)
        assert "<script" not in response.text.lower(), path


async def test_no_cors_for_any_origin_by_default(client: httpx.AsyncClient) -> None:
    for origin in (EVIL_ORIGIN, APP_ORIGIN, "null"):
        preflight = await client.options(
            "/api/v1/auth/login",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        simple = await client.get("/.well-known/jwks.json", headers={"Origin": origin})
        for response in (preflight, simple):
            assert "access-control-allow-origin" not in response.headers, origin
            assert "access-control-allow-credentials" not in response.headers, origin


class TestWithCorsOriginsConfigured:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"cors_origins": [APP_ORIGIN]}

    async def test_cors_only_for_the_configured_origin(self, client: httpx.AsyncClient) -> None:
        preflight = await client.options(
            "/api/v1/auth/login",
            headers={
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        simple = await client.get("/.well-known/jwks.json", headers={"Origin": APP_ORIGIN})
        for response in (preflight, simple):
            assert response.headers["access-control-allow-origin"] == APP_ORIGIN
            assert "access-control-allow-credentials" not in response.headers
        assert "origin" in simple.headers["vary"].lower()

        for origin in (EVIL_ORIGIN, APP_ORIGIN + ".evil.example", "null"):
            refused_preflight = await client.options(
                "/api/v1/auth/login",
                headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            )
            refused = await client.get("/.well-known/jwks.json", headers={"Origin": origin})
            for response in (refused_preflight, refused):
                assert "access-control-allow-origin" not in response.headers, origin

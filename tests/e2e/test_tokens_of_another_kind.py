"""A token of another kind (an access token where a refresh, reset or verification token
belongs) is refused with the contract's own code for that endpoint, never a 422."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import LogIn, SignUp

VERIFY_PAGE = "/verify-email"
RESET_PAGE = "/reset-password"


@pytest.fixture
async def access_token(sign_up: SignUp, log_in: LogIn) -> str:
    await sign_up()
    token: str = (await log_in())["access_token"]
    assert len(token) > 256  # longer than any limit a field sized for opaque tokens would set
    return token


async def test_access_token_as_refresh_token_is_an_invalid_refresh_token(
    client: httpx.AsyncClient, access_token: str
) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": access_token})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_refresh_token"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/auth/password/reset", "/api/v1/auth/verify-email"],
)
async def test_access_token_as_single_use_token_is_invalid_or_expired(
    client: httpx.AsyncClient, access_token: str, path: str
) -> None:
    body = {"token": access_token}
    if path.endswith("/reset"):
        body["new_password"] = "a freshly chosen passphrase"
    response = await client.post(path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_or_expired_token"


async def test_a_token_beyond_any_plausible_length_is_still_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 5000})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("page", [VERIFY_PAGE, RESET_PAGE])
async def test_pages_given_an_access_token_say_the_link_is_broken(
    client: httpx.AsyncClient, access_token: str, page: str
) -> None:
    form = {"token": access_token}
    if page == RESET_PAGE:
        form["new_password"] = "a freshly chosen passphrase"
    response = await client.post(page, data=form)
    assert response.status_code == 400, response.text
    assert "invalid, was already used, or has expired" in response.text

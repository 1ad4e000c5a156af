"""Per-account login throttling over HTTP: both login endpoints, and recovery still works."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, SignUp


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"login_max_failures": 3, "login_failure_window_seconds": 600}


async def test_after_the_allowed_failures_logins_get_429_with_retry_after(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up()
    wrong = {"email": "ada@example.com", "password": "not it at all"}
    statuses = [(await client.post("/api/v1/auth/login", json=wrong)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    right = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert right.status_code == 429
    assert right.json()["code"] == "too_many_requests"
    assert 590 <= int(right.headers["retry-after"]) <= 600
    form = await client.post(
        "/api/v1/auth/token", data={"username": "ADA@example.com", "password": PASSWORD}
    )
    assert form.status_code == 429
    # Recovery is the way out, and stays open.
    forgot = await client.post("/api/v1/auth/password/forgot", json={"email": "ada@example.com"})
    assert forgot.status_code == 202
    # Another account is not affected.
    await sign_up(email="bob@example.com")
    bob = await client.post(
        "/api/v1/auth/login", json={"email": "bob@example.com", "password": PASSWORD}
    )
    assert bob.status_code == 200
    metrics = (await client.get("/metrics")).text
    assert 'portcullis_throttled_requests_total{route="/api/v1/auth/login"} 1.0' in metrics
    assert 'portcullis_logins_total{outcome="throttled"} 2.0' in metrics  # login and token

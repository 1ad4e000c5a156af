"""Account enumeration (contract §2, §5): an attacker must not learn
from login or password recovery whether an email has an account. The answers are compared
whole — status, body without its request id, the headers a client could tell apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD, SignUp

KNOWN = "ada@example.com"
UNKNOWN = "nobody@example.com"
# Headers that could tell two answers apart (x-request-id differs by design).
TELLING_HEADERS = (
    "content-type",
    "www-authenticate",
    "cache-control",
    "set-cookie",
    "location",
    "vary",
)
ATTEMPTS = 12  # past the per-account limit of 10 failures in 15 minutes


def comparable(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
    return {
        "status": response.status_code,
        "body": body,
        "headers": {name: response.headers.get(name) for name in TELLING_HEADERS},
        "retry-after": "retry-after" in response.headers,
    }


def retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("retry-after")
    return int(value) if value is not None else None


@pytest.fixture
async def second_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Another client address, so a per-IP limit treats both runs alike."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portcullis.test") as client:
        yield client


async def test_login_unknown_email_and_wrong_password_answer_alike_over_a_run_of_attempts(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    """Step by step, whatever the sequence is: 401s, then (with per-account throttling)
    429s from the same attempt on, for the email with an account and the one without."""
    await sign_up(KNOWN)
    for attempt in range(1, ATTEMPTS + 1):
        known = await client.post(
            "/api/v1/auth/login", json={"email": KNOWN, "password": "wrong password"}
        )
        unknown = await second_client.post(
            "/api/v1/auth/login", json={"email": UNKNOWN, "password": "wrong password"}
        )

        assert known.status_code in (401, 429), known.text
        assert comparable(known) == comparable(unknown), f"attempt {attempt}"
        known_wait, unknown_wait = retry_after(known), retry_after(unknown)
        if known_wait is not None and unknown_wait is not None:
            assert abs(known_wait - unknown_wait) <= 1, f"attempt {attempt}"


async def test_login_form_unknown_email_and_wrong_password_answer_alike(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up(KNOWN)
    known = await client.post(
        "/api/v1/auth/token", data={"username": KNOWN, "password": "wrong password"}
    )
    unknown = await second_client.post(
        "/api/v1/auth/token", data={"username": UNKNOWN, "password": "wrong password"}
    )

    assert known.status_code == 401
    assert comparable(known) == comparable(unknown)


async def test_login_malformed_email_answers_like_an_unknown_one(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient
) -> None:
    malformed = await client.post(
        "/api/v1/auth/login", json={"email": "not an email", "password": "wrong password"}
    )
    unknown = await second_client.post(
        "/api/v1/auth/login", json={"email": UNKNOWN, "password": "wrong password"}
    )

    assert comparable(malformed) == comparable(unknown)


async def test_forgot_password_answers_alike_for_known_and_unknown_emails(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up(KNOWN)
    for _ in range(2):  # a repeated request too: no "a link was already sent"
        known = await client.post("/api/v1/auth/password/forgot", json={"email": KNOWN})
        unknown = await second_client.post("/api/v1/auth/password/forgot", json={"email": UNKNOWN})

        assert known.status_code == 202, known.text
        assert comparable(known) == comparable(unknown)


async def test_signup_with_a_taken_email_is_409_by_contract(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    """Not enumeration-proof, by design: contract §5 answers `409 email_taken` so that a
    person who forgot they had an account learns it. Whoever wants to probe emails can do it
    here, one request per email, under the per-IP limit on signup; login and recovery, which
    an attacker would otherwise use in bulk, do not tell."""
    await sign_up(KNOWN)

    response = await client.post(
        "/api/v1/auth/signup", json={"email": KNOWN.upper(), "password": PASSWORD}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"

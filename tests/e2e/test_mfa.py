"""TOTP and recovery codes through the real app, with codes computed by pyotp from the secret
the API hands out, as an authenticator app would."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
import pyotp
import pytest

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer

MFA = "/api/v1/users/me/mfa"
LOGIN = "/api/v1/auth/login"
SECOND_STEP = "/api/v1/auth/mfa"
EMAIL = "ada@example.com"


def code_at(secret: str, steps_ahead: int = 0) -> str:
    """The app's code now or that many 30-second steps ahead (one step of drift is allowed,
    so a test can use a step its confirmation has not spent)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def amr_of(pair: dict[str, Any]) -> list[str]:
    claims: dict[str, Any] = jwt.decode(pair["access_token"], options={"verify_signature": False})
    return list(claims["amr"])


async def enroll(client: httpx.AsyncClient, tokens: dict[str, Any]) -> tuple[str, list[str]]:
    """TOTP on for the signed-in account: its secret and recovery codes."""
    setup = await client.post(
        f"{MFA}/totp", json={"current_password": PASSWORD}, headers=bearer(tokens)
    )
    assert setup.status_code == 200, setup.text
    secret: str = setup.json()["secret"]
    confirmed = await client.post(
        f"{MFA}/totp/confirm", json={"code": code_at(secret)}, headers=bearer(tokens)
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


async def mfa_token(client: httpx.AsyncClient, email: str = EMAIL) -> str:
    response = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert response.status_code == 403, response.text
    token: str = response.json()["mfa_token"]
    return token


@pytest.fixture
async def enrolled(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> tuple[str, list[str]]:
    await sign_up()
    return await enroll(client, await log_in())


async def test_enrolling_then_logging_in_takes_both_factors(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    tokens = await log_in()
    before = await client.get(MFA, headers=bearer(tokens))
    setup = await client.post(
        f"{MFA}/totp", json={"current_password": PASSWORD}, headers=bearer(tokens)
    )
    body = setup.json()

    assert before.json() == {"totp_enabled": False, "recovery_codes_remaining": 0}
    assert set(body) == {"secret", "otpauth_uri", "qr_svg"}
    assert body["otpauth_uri"] == (
        f"otpauth://totp/Portcullis:ada%40example.com?secret={body['secret']}"
        "&issuer=Portcullis&algorithm=SHA1&digits=6&period=30"
    )
    assert body["qr_svg"].startswith("<svg")
    assert setup.headers["cache-control"] == "no-store"

    confirmed = await client.post(
        f"{MFA}/totp/confirm", json={"code": code_at(body["secret"])}, headers=bearer(tokens)
    )
    assert confirmed.status_code == 200
    assert len(confirmed.json()["recovery_codes"]) == 10
    me = await client.get("/api/v1/users/me", headers=bearer(tokens))
    assert me.json()["mfa_enabled"] is True

    first = await client.post(LOGIN, json={"email": EMAIL, "password": PASSWORD})
    assert first.status_code == 403
    problem = first.json()
    assert problem["code"] == "mfa_required"
    assert problem["methods"] == ["totp", "recovery_code"]
    assert "access_token" not in problem

    second = await client.post(
        SECOND_STEP,
        json={"mfa_token": problem["mfa_token"], "code": code_at(body["secret"], steps_ahead=1)},
    )
    assert second.status_code == 200, second.text
    assert amr_of(second.json()) == ["pwd", "otp", "mfa"]
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}
    )
    assert amr_of(refreshed.json()) == ["pwd", "otp", "mfa"]


async def test_a_code_is_accepted_once(
    client: httpx.AsyncClient, enrolled: tuple[str, list[str]]
) -> None:
    secret, _ = enrolled
    code = code_at(secret, steps_ahead=1)
    assert (
        await client.post(SECOND_STEP, json={"mfa_token": await mfa_token(client), "code": code})
    ).status_code == 200

    replay = await client.post(
        SECOND_STEP, json={"mfa_token": await mfa_token(client), "code": code}
    )

    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_mfa_code"


async def test_two_logins_racing_with_one_code_open_one_session(
    client: httpx.AsyncClient, enrolled: tuple[str, list[str]]
) -> None:
    secret, _ = enrolled
    code = code_at(secret, steps_ahead=1)
    tokens = [await mfa_token(client) for _ in range(4)]

    answers = await asyncio.gather(
        *(client.post(SECOND_STEP, json={"mfa_token": token, "code": code}) for token in tokens)
    )

    assert sorted(answer.status_code for answer in answers) == [200, 401, 401, 401]


async def test_a_recovery_code_signs_in_once(
    client: httpx.AsyncClient, enrolled: tuple[str, list[str]]
) -> None:
    _, codes = enrolled

    used = await client.post(
        SECOND_STEP, json={"mfa_token": await mfa_token(client), "recovery_code": codes[0]}
    )
    again = await client.post(
        SECOND_STEP, json={"mfa_token": await mfa_token(client), "recovery_code": codes[0]}
    )

    assert used.status_code == 200
    assert amr_of(used.json()) == ["pwd", "mfa"]
    assert again.status_code == 401
    status = await client.get(MFA, headers=bearer(used.json()))
    assert status.json() == {"totp_enabled": True, "recovery_codes_remaining": 9}


@pytest.mark.parametrize(
    "body",
    [{}, {"code": "123456", "recovery_code": "abcd-efgh-ijkm-npqr"}, {"code": "1" * 65}],
    ids=["neither", "both", "too-long"],
)
@pytest.mark.usefixtures("enrolled")
async def test_the_second_step_takes_exactly_one_code(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    response = await client.post(SECOND_STEP, json={"mfa_token": await mfa_token(client), **body})

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_an_unknown_mfa_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(SECOND_STEP, json={"mfa_token": "x" * 43, "code": "123456"})

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_mfa_token"


@pytest.mark.usefixtures("enrolled")
async def test_the_form_login_asks_for_the_second_factor_too(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}
    )

    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"


async def test_set_up_and_confirmation_are_refused_when_they_make_no_sense(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    tokens = await log_in()
    not_started = await client.post(
        f"{MFA}/totp/confirm", json={"code": "123456"}, headers=bearer(tokens)
    )
    wrong_password = await client.post(
        f"{MFA}/totp", json={"current_password": "nope"}, headers=bearer(tokens)
    )
    await enroll(client, tokens)
    again = await client.post(
        f"{MFA}/totp", json={"current_password": PASSWORD}, headers=bearer(tokens)
    )

    assert (not_started.status_code, not_started.json()["code"]) == (409, "mfa_not_enabled")
    assert (wrong_password.status_code, wrong_password.json()["code"]) == (
        400,
        "invalid_current_password",
    )
    assert (again.status_code, again.json()["code"]) == (409, "mfa_already_enabled")


async def test_turning_totp_off_takes_the_password_and_a_code(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    tokens = await log_in()
    _, codes = await enroll(client, tokens)

    wrong_code = await client.request(
        "DELETE",
        f"{MFA}/totp",
        json={"current_password": PASSWORD, "code": "000000"},
        headers=bearer(tokens),
    )
    wrong_password = await client.request(
        "DELETE",
        f"{MFA}/totp",
        json={"current_password": "nope", "code": codes[0]},
        headers=bearer(tokens),
    )
    off = await client.request(
        "DELETE",
        f"{MFA}/totp",
        json={"current_password": PASSWORD, "code": codes[0]},
        headers=bearer(tokens),
    )

    assert (wrong_code.status_code, wrong_code.json()["code"]) == (400, "invalid_mfa_code")
    assert (wrong_password.status_code, wrong_password.json()["code"]) == (
        400,
        "invalid_current_password",
    )
    assert off.status_code == 204
    assert amr_of(await log_in()) == ["pwd"]


async def test_renewed_recovery_codes_replace_the_old_ones(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    tokens = await log_in()
    secret, old = await enroll(client, tokens)

    renewed = await client.post(
        f"{MFA}/recovery-codes",
        json={"current_password": PASSWORD, "code": code_at(secret, steps_ahead=1)},
        headers=bearer(tokens),
    )

    assert renewed.status_code == 200
    new = renewed.json()["recovery_codes"]
    stale = await client.post(
        SECOND_STEP, json={"mfa_token": await mfa_token(client), "recovery_code": old[1]}
    )
    fresh = await client.post(
        SECOND_STEP, json={"mfa_token": await mfa_token(client), "recovery_code": new[1]}
    )
    assert (stale.status_code, fresh.status_code) == (401, 200)


async def test_an_admin_resets_a_lost_authenticator(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn, admin: dict[str, str]
) -> None:
    ada = await sign_up()
    tokens = await log_in()
    await enroll(client, tokens)

    forbidden = await client.delete(f"/api/v1/users/{ada['id']}/mfa", headers=bearer(tokens))
    reset = await client.delete(f"/api/v1/users/{ada['id']}/mfa", headers=admin)
    again = await client.delete(f"/api/v1/users/{ada['id']}/mfa", headers=admin)

    assert forbidden.status_code == 403
    assert reset.status_code == 204
    assert (again.status_code, again.json()["code"]) == (409, "mfa_not_enabled")
    assert (await client.get("/api/v1/users/me", headers=bearer(tokens))).status_code == 401
    assert amr_of(await log_in()) == ["pwd"]

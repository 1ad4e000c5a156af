"""Passkeys through the real app, with the software authenticator answering as a browser and a
passkey would: registration, listing, renaming, sign-in, and the forgeries that must fail."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer, set_active
from tests.webauthn_authenticator import CredentialExcluded, SoftwareAuthenticator

PASSKEYS = "/api/v1/users/me/passkeys"
SIGN_IN_OPTIONS = "/api/v1/auth/passkey/options"
SIGN_IN = "/api/v1/auth/passkey/login"
ORIGIN = "http://localhost:8000"  # the origin of the default PORTCULLIS_PUBLIC_URL


def amr_of(pair: dict[str, Any]) -> list[str]:
    claims: dict[str, Any] = jwt.decode(pair["access_token"], options={"verify_signature": False})
    return list(claims["amr"])


async def creation_options(
    client: httpx.AsyncClient, tokens: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    response = await client.post(
        f"{PASSKEYS}/options", json={"current_password": PASSWORD}, headers=bearer(tokens)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return body["challenge_id"], body["public_key"]


async def add_passkey(
    client: httpx.AsyncClient,
    tokens: dict[str, Any],
    authenticator: SoftwareAuthenticator,
    name: str | None = None,
) -> dict[str, Any]:
    challenge_id, options = await creation_options(client, tokens)
    credential = authenticator.register(options, ORIGIN)
    body: dict[str, Any] = {"challenge_id": challenge_id, "credential": credential}
    if name is not None:
        body["name"] = name
    response = await client.post(PASSKEYS, json=body, headers=bearer(tokens))
    assert response.status_code == 201, response.text
    added: dict[str, Any] = response.json()
    return added


async def request_options(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    response = await client.post(SIGN_IN_OPTIONS)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["challenge_id"], body["public_key"]


@pytest.fixture
async def tokens(sign_up: SignUp, log_in: LogIn) -> dict[str, Any]:
    await sign_up()
    return await log_in()


async def test_a_passkey_registers_lists_renames_and_signs_in_as_two_factors(
    client: httpx.AsyncClient, tokens: dict[str, Any]
) -> None:
    authenticator = SoftwareAuthenticator()
    challenge_id, options = await creation_options(client, tokens)
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["rp"]["id"] == "localhost"
    response = await client.post(
        PASSKEYS,
        json={
            "challenge_id": challenge_id,
            "credential": authenticator.register(options, ORIGIN),
            "name": "Laptop",
        },
        headers=bearer(tokens),
    )
    assert response.status_code == 201, response.text
    added = response.json()
    assert set(added) == {"id", "name", "created_at", "last_used_at", "backed_up"}
    assert added["name"] == "Laptop"
    assert added["last_used_at"] is None

    renamed = await client.patch(
        f"{PASSKEYS}/{added['id']}", json={"name": "Work laptop"}, headers=bearer(tokens)
    )
    assert renamed.status_code == 200, renamed.text
    listed = await client.get(PASSKEYS, headers=bearer(tokens))
    assert [p["name"] for p in listed.json()] == ["Work laptop"]

    challenge_id, options = await request_options(client)
    assert options["userVerification"] == "required"
    assert options.get("allowCredentials", []) == []
    signed_in = await client.post(
        SIGN_IN,
        json={
            "challenge_id": challenge_id,
            "credential": authenticator.authenticate(options, ORIGIN),
        },
    )
    assert signed_in.status_code == 200, signed_in.text
    assert amr_of(signed_in.json()) == ["hwk", "mfa"]
    me = await client.get("/api/v1/users/me", headers=bearer(signed_in.json()))
    assert me.status_code == 200
    listed = await client.get(PASSKEYS, headers=bearer(tokens))
    assert listed.json()[0]["last_used_at"] is not None


async def test_a_replayed_assertion_is_refused(
    client: httpx.AsyncClient, tokens: dict[str, Any]
) -> None:
    authenticator = SoftwareAuthenticator()
    await add_passkey(client, tokens, authenticator)
    challenge_id, options = await request_options(client)
    first = await client.post(
        SIGN_IN,
        json={
            "challenge_id": challenge_id,
            "credential": authenticator.authenticate(options, ORIGIN),
        },
    )
    assert first.status_code == 200, first.text

    again = await client.post(
        SIGN_IN, json={"challenge_id": challenge_id, "credential": authenticator.replay()}
    )
    fresh_id, _ = await request_options(client)
    elsewhere = await client.post(
        SIGN_IN, json={"challenge_id": fresh_id, "credential": authenticator.replay()}
    )

    for refused in (again, elsewhere):
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_credentials"


async def test_every_refused_sign_in_gets_the_same_answer(
    client: httpx.AsyncClient, tokens: dict[str, Any]
) -> None:
    authenticator = SoftwareAuthenticator()
    await add_passkey(client, tokens, authenticator)
    answers = []
    for knobs in (
        {"origin": "http://evil.example"},
        {"rp_id": "evil.example"},
        {"tamper_signature": True},
        {"user_handle": b"someone else"},
    ):
        challenge_id, options = await request_options(client)
        origin = knobs.pop("origin", ORIGIN)
        assert isinstance(origin, str)
        credential = authenticator.authenticate(options, origin, **knobs)
        answers.append(
            await client.post(
                SIGN_IN, json={"challenge_id": challenge_id, "credential": credential}
            )
        )
    # A passkey made for this RP whose registration never reached the service.
    stranger = SoftwareAuthenticator()
    _, creation = await creation_options(client, tokens)
    stranger.register(creation, ORIGIN)
    challenge_id, options = await request_options(client)
    answers.append(
        await client.post(
            SIGN_IN,
            json={
                "challenge_id": challenge_id,
                "credential": stranger.authenticate(options, ORIGIN),
            },
        )
    )

    bodies = set()
    for answer in answers:
        assert answer.status_code == 401, answer.text
        body = answer.json()
        bodies.add((body["code"], body["title"], body["detail"]))
    assert len(bodies) == 1
    assert next(iter(bodies))[0] == "invalid_credentials"


async def test_a_deactivated_account_is_told_only_after_a_valid_assertion(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    user = await sign_up()
    tokens = await log_in()
    authenticator = SoftwareAuthenticator()
    await add_passkey(client, tokens, authenticator)
    await set_active(app, user["id"], active=False)

    challenge_id, options = await request_options(client)
    forged = await client.post(
        SIGN_IN,
        json={
            "challenge_id": challenge_id,
            "credential": authenticator.authenticate(options, ORIGIN, tamper_signature=True),
        },
    )
    challenge_id, options = await request_options(client)
    valid = await client.post(
        SIGN_IN,
        json={
            "challenge_id": challenge_id,
            "credential": authenticator.authenticate(options, ORIGIN),
        },
    )

    assert forged.status_code == 401
    assert valid.status_code == 403
    assert valid.json()["code"] == "account_disabled"


async def test_the_accounts_passkeys_are_excluded_from_new_registrations(
    client: httpx.AsyncClient, tokens: dict[str, Any]
) -> None:
    authenticator = SoftwareAuthenticator()
    await add_passkey(client, tokens, authenticator)
    _, options = await creation_options(client, tokens)
    with pytest.raises(CredentialExcluded):
        authenticator.register(options, ORIGIN)


async def test_a_registration_that_does_not_verify_is_invalid_passkey(
    client: httpx.AsyncClient, tokens: dict[str, Any]
) -> None:
    authenticator = SoftwareAuthenticator()
    challenge_id, options = await creation_options(client, tokens)
    credential = authenticator.register(options, "http://evil.example")
    response = await client.post(
        PASSKEYS,
        json={"challenge_id": challenge_id, "credential": credential},
        headers=bearer(tokens),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_passkey"
    # The challenge was spent by that attempt: a good credential cannot use it now.
    retry = await client.post(
        PASSKEYS,
        json={"challenge_id": challenge_id, "credential": authenticator.register(options, ORIGIN)},
        headers=bearer(tokens),
    )
    assert retry.status_code == 400


async def test_the_options_take_the_current_password(
    client: httpx.AsyncClient, tokens: dict[str, Any]
) -> None:
    wrong = await client.post(
        f"{PASSKEYS}/options", json={"current_password": "not it at all"}, headers=bearer(tokens)
    )
    missing = await client.post(f"{PASSKEYS}/options", json={}, headers=bearer(tokens))
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid_current_password"
    assert missing.status_code == 422


async def test_another_users_passkey_is_not_found_and_ones_own_can_be_deleted(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    ada = await log_in()
    await sign_up(email="bob@example.com")
    bob = await log_in(email="bob@example.com")
    authenticator = SoftwareAuthenticator()
    added = await add_passkey(client, ada, authenticator)

    renamed = await client.patch(
        f"{PASSKEYS}/{added['id']}", json={"name": "mine now"}, headers=bearer(bob)
    )
    deleted = await client.delete(f"{PASSKEYS}/{added['id']}", headers=bearer(bob))
    assert renamed.status_code == deleted.status_code == 404

    own = await client.delete(f"{PASSKEYS}/{added['id']}", headers=bearer(ada))
    assert own.status_code == 204
    assert (await client.get(PASSKEYS, headers=bearer(ada))).json() == []
    challenge_id, options = await request_options(client)
    gone = await client.post(
        SIGN_IN,
        json={
            "challenge_id": challenge_id,
            "credential": authenticator.authenticate(options, ORIGIN),
        },
    )
    assert gone.status_code == 401


async def test_the_sign_in_options_take_an_empty_body_or_an_empty_object(
    client: httpx.AsyncClient,
) -> None:
    empty = await client.post(SIGN_IN_OPTIONS)
    braces = await client.post(SIGN_IN_OPTIONS, json={})
    extra = await client.post(SIGN_IN_OPTIONS, json={"email": "ada@example.com"})
    assert (empty.status_code, braces.status_code, extra.status_code) == (200, 200, 422)

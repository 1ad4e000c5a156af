"""The admin API of the OAuth client registry, through the real app."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI

from application.client_credentials import client_secret_matches
from domain.session import SessionKind
from tests.e2e.conftest import LogIn, SignUp, bearer
from tests.integration.builders import NOW, a_session

CLIENTS = "/api/v1/oauth-clients"
WIKI = {
    "name": "Wiki",
    "type": "confidential",
    "redirect_uris": ["https://wiki.example.com/callback", "http://localhost:8080/cb"],
}


async def register(
    client: httpx.AsyncClient, admin: dict[str, str], **fields: Any
) -> dict[str, Any]:
    response = await client.post(CLIENTS, json={**WIKI, **fields}, headers=admin)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored_secret_hash(app: FastAPI, client_id: str) -> str | None:
    async with app.state.container.unit_of_work() as uow:
        stored = await uow.oauth_clients.get(client_id)
    assert stored is not None
    secret_hash: str | None = stored.secret_hash
    return secret_hash


async def test_an_admin_registers_reads_lists_changes_and_deletes_a_client(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        CLIENTS,
        json={**WIKI, "post_logout_redirect_uris": ["https://wiki.example.com/"]},
        headers=admin,
    )
    assert created.status_code == 201
    body = created.json()
    client_id = body["client_id"]
    assert created.headers["location"] == f"{CLIENTS}/{client_id}"
    assert created.headers["cache-control"] == "no-store"
    assert body["redirect_uris"] == WIKI["redirect_uris"]
    assert body["post_logout_redirect_uris"] == ["https://wiki.example.com/"]
    assert (body["first_party"], body["id_token_signed_response_alg"]) == (False, "RS256")
    assert body["created_at"] == body["updated_at"]

    fetched = await client.get(f"{CLIENTS}/{client_id}", headers=admin)
    without_secret = {k: v for k, v in body.items() if k != "client_secret"}
    assert fetched.json() == without_secret
    listed = await client.get(CLIENTS, headers=admin)
    assert listed.json() == {"items": [without_secret]}

    patched = await client.patch(
        f"{CLIENTS}/{client_id}",
        json={"name": "Wiki (prod)", "first_party": True, "id_token_signed_response_alg": "EdDSA"},
        headers=admin,
    )
    assert patched.status_code == 200
    changed = patched.json()
    assert (changed["name"], changed["first_party"]) == ("Wiki (prod)", True)
    assert changed["id_token_signed_response_alg"] == "EdDSA"
    assert changed["redirect_uris"] == WIKI["redirect_uris"]
    assert changed["type"] == "confidential"

    deleted = await client.delete(f"{CLIENTS}/{client_id}", headers=admin)
    assert deleted.status_code == 204
    gone = await client.get(f"{CLIENTS}/{client_id}", headers=admin)
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    again = await client.delete(f"{CLIENTS}/{client_id}", headers=admin)
    assert again.status_code == 404


async def test_a_confidential_clients_secret_is_shown_once_and_stored_as_its_hash(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    body = await register(client, admin)
    secret = body["client_secret"]

    assert len(secret) >= 43
    assert secret.replace("-", "").replace("_", "").isalnum()
    stored = await stored_secret_hash(app, body["client_id"])
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    for response in (
        await client.get(CLIENTS, headers=admin),
        await client.get(f"{CLIENTS}/{body['client_id']}", headers=admin),
        await client.get("/api/v1/audit-events", headers=admin),
    ):
        assert secret not in response.text
        assert stored not in response.text


async def test_a_public_client_has_no_secret_to_show_or_renew(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    body = await register(client, admin, type="public")

    assert "client_secret" not in body
    assert await stored_secret_hash(app, body["client_id"]) is None
    renewal = await client.post(f"{CLIENTS}/{body['client_id']}/secret", headers=admin)
    assert (renewal.status_code, renewal.json()["code"]) == (422, "validation_error")
    assert renewal.json()["errors"][0]["loc"] == ["path", "client_id"]


async def test_renewing_a_secret_makes_the_old_one_stop_working(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI
) -> None:
    body = await register(client, admin)

    renewed = await client.post(f"{CLIENTS}/{body['client_id']}/secret", headers=admin)

    assert renewed.status_code == 200
    assert renewed.headers["cache-control"] == "no-store"
    new = renewed.json()
    assert new["client_id"] == body["client_id"]
    stored = await stored_secret_hash(app, body["client_id"])
    assert client_secret_matches(new["client_secret"], stored)
    assert not client_secret_matches(body["client_secret"], stored)


async def test_deleting_a_client_ends_the_sessions_issued_to_it(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI, sign_up: SignUp
) -> None:
    body = await register(client, admin)
    ada = await sign_up()
    async with app.state.container.unit_of_work() as uow:
        user = await uow.users.get(UUID(ada["id"]))
        assert user is not None
        issued = a_session(user, kind=SessionKind.OAUTH, client_id=body["client_id"])
        await uow.sessions.add(replace(issued, expires_at=NOW + timedelta(days=3650)))
        await uow.commit()
    async with app.state.container.unit_of_work() as uow:
        before = await uow.sessions.list_usable_of_user(user.id, NOW)
    assert [session.client_id for session in before] == [body["client_id"]]

    assert (await client.delete(f"{CLIENTS}/{body['client_id']}", headers=admin)).status_code == 204

    async with app.state.container.unit_of_work() as uow:
        left = await uow.sessions.list_usable_of_user(user.id, NOW)
    assert left == []


async def test_every_change_is_in_the_audit_trail_with_the_admin_and_the_client(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    me = (await client.get("/api/v1/users/me", headers=admin)).json()
    client_id = (await register(client, admin))["client_id"]
    await client.patch(f"{CLIENTS}/{client_id}", json={"name": "Wiki 2"}, headers=admin)
    await client.post(f"{CLIENTS}/{client_id}/secret", headers=admin)
    await client.delete(f"{CLIENTS}/{client_id}", headers=admin)

    events = (await client.get("/api/v1/audit-events", headers=admin)).json()["items"]
    about_clients = [e for e in events if e["type"].startswith("oauth_client.")]
    assert [e["type"] for e in about_clients] == [
        "oauth_client.deleted",
        "oauth_client.secret_renewed",
        "oauth_client.changed",
        "oauth_client.registered",
    ]
    assert all(e["actor_id"] == me["id"] for e in about_clients)
    assert all(e["data"]["client_id"] == client_id for e in about_clients)
    assert about_clients[2]["data"]["fields"] == ["name"]


async def test_invalid_registrations_are_refused_without_echoing_them(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    secret_looking = "https://wiki.example.com/cb#token=hunter2-s3cr3t"
    for body, where in [
        ({**WIKI, "redirect_uris": [secret_looking]}, ["body", "redirect_uris", 0]),
        ({**WIKI, "redirect_uris": ["http://wiki.example.com/hunter2-s3cr3t"]}, None),
        ({**WIKI, "redirect_uris": []}, ["body", "redirect_uris"]),
        ({**WIKI, "redirect_uris": [f"https://a.example/{i}" for i in range(11)]}, None),
        ({**WIKI, "redirect_uris": ["https://a.example/", "https://a.example/"]}, ["body"]),
        ({**WIKI, "type": "hybrid"}, ["body", "type"]),
        ({**WIKI, "id_token_signed_response_alg": "HS256"}, None),
        ({**WIKI, "name": ""}, None),
        ({**WIKI, "secret_hash": "a" * 64}, ["body", "secret_hash"]),
        ({k: v for k, v in WIKI.items() if k != "type"}, ["body", "type"]),
    ]:
        response = await client.post(CLIENTS, json=body, headers=admin)
        assert response.status_code == 422, body
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert "hunter2" not in response.text
        if where is not None:
            assert [error["loc"] for error in problem["errors"]] == [where], problem
    assert (await client.get(CLIENTS, headers=admin)).json() == {"items": []}


async def test_a_change_cannot_alter_the_type_or_null_a_field_and_an_unknown_client_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = await register(client, admin)
    path = f"{CLIENTS}/{body['client_id']}"

    for change in [{"type": "public"}, {"redirect_uris": None}, {"client_id": "mine"}]:
        response = await client.patch(path, json=change, headers=admin)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    type_change = await client.patch(path, json={"type": "confidential"}, headers=admin)
    assert "type cannot change" in type_change.json()["errors"][0]["message"]
    for method, target in [
        ("GET", f"{CLIENTS}/nobody"),
        ("PATCH", f"{CLIENTS}/nobody"),
        ("DELETE", f"{CLIENTS}/nobody"),
        ("POST", f"{CLIENTS}/nobody/secret"),
    ]:
        answer = await client.request(method, target, json={"name": "x"}, headers=admin)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), method
    malformed = await client.get(f"{CLIENTS}/not%20an%20id", headers=admin)
    assert malformed.status_code == 422
    assert (await client.get(path, headers=admin)).json()["type"] == "confidential"


async def test_the_registry_is_forbidden_to_users_and_closed_to_strangers(
    client: httpx.AsyncClient, admin: dict[str, str], sign_up: SignUp, log_in: LogIn
) -> None:
    client_id = (await register(client, admin))["client_id"]
    await sign_up()
    user = bearer(await log_in())
    calls = [
        ("GET", CLIENTS, None),
        ("POST", CLIENTS, WIKI),
        ("GET", f"{CLIENTS}/{client_id}", None),
        ("PATCH", f"{CLIENTS}/{client_id}", {"name": "Mine"}),
        ("DELETE", f"{CLIENTS}/{client_id}", None),
        ("POST", f"{CLIENTS}/{client_id}/secret", None),
    ]
    for method, path, body in calls:
        as_user = await client.request(method, path, json=body, headers=user)
        assert (as_user.status_code, as_user.json()["code"]) == (403, "forbidden"), path
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
    unchanged = await client.get(f"{CLIENTS}/{client_id}", headers=admin)
    assert unchanged.json()["name"] == "Wiki"

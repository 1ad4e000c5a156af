"""The admin API and the audit trail, through the real app."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer

USERS = "/api/v1/users"


async def test_admin_endpoints_are_forbidden_to_users_and_closed_to_strangers(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    target = await sign_up()
    user = bearer(await log_in())
    calls = [
        ("GET", USERS, None),
        ("POST", USERS, {"email": "x@example.com", "password": PASSWORD}),
        ("GET", f"{USERS}/{target['id']}", None),
        ("PATCH", f"{USERS}/{target['id']}", {"role": "admin"}),
        ("DELETE", f"{USERS}/{target['id']}", None),
        ("GET", "/api/v1/audit-events", None),
    ]
    for method, path, body in calls:
        as_user = await client.request(method, path, json=body, headers=user)
        assert as_user.status_code == 403, (method, path)
        assert as_user.json()["code"] == "forbidden"
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
    me = await client.get("/api/v1/users/me", headers=user)
    assert me.json()["role"] == "user"


async def test_an_admin_creates_reads_updates_and_deletes_an_account(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        USERS,
        json={"email": "New@Example.com", "password": PASSWORD, "name": "Newt", "role": "admin"},
        headers=admin,
    )
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "new@example.com"
    assert body["role"] == "admin"
    assert created.headers["location"] == f"{USERS}/{body['id']}"

    fetched = await client.get(f"{USERS}/{body['id']}", headers=admin)
    assert fetched.json() == body
    patched = await client.patch(
        f"{USERS}/{body['id']}",
        json={"role": "user", "is_verified": True, "name": None},
        headers=admin,
    )
    assert patched.status_code == 200
    assert (patched.json()["role"], patched.json()["is_verified"], patched.json()["name"]) == (
        "user",
        True,
        None,
    )
    assert (await client.delete(f"{USERS}/{body['id']}", headers=admin)).status_code == 204
    gone = await client.get(f"{USERS}/{body['id']}", headers=admin)
    assert gone.status_code == 404
    assert gone.json()["code"] == "not_found"


async def test_admin_writes_are_validated_like_everyone_elses(
    client: httpx.AsyncClient, admin: dict[str, str], sign_up: SignUp
) -> None:
    target = await sign_up(email="t@example.com")
    weak = await client.post(
        USERS, json={"email": "w@example.com", "password": "123456"}, headers=admin
    )
    assert weak.json()["code"] == "weak_password"
    taken = await client.post(
        USERS, json={"email": "T@example.com", "password": PASSWORD}, headers=admin
    )
    assert taken.json()["code"] == "email_taken"
    for body in [{"role": "god"}, {"is_active": None}, {"id": "x"}, {"password_hash": "x"}]:
        response = await client.patch(f"{USERS}/{target['id']}", json=body, headers=admin)
        assert response.status_code == 422, body
    assert (await client.get(f"{USERS}/not-a-uuid", headers=admin)).status_code == 422
    missing = await client.patch(
        f"{USERS}/00000000-0000-4000-8000-000000000000", json={"name": "x"}, headers=admin
    )
    assert missing.status_code == 404


async def test_deactivating_an_account_ends_its_sessions_at_once(
    client: httpx.AsyncClient, admin: dict[str, str], sign_up: SignUp, log_in: LogIn
) -> None:
    target = await sign_up()
    pair = await log_in()
    response = await client.patch(
        f"{USERS}/{target['id']}", json={"is_active": False}, headers=admin
    )
    assert response.json()["is_active"] is False
    assert (await client.get("/api/v1/users/me", headers=bearer(pair))).status_code == 401
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refresh.status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert login.json()["code"] == "account_disabled"


async def test_a_demoted_admin_loses_admin_rights_on_the_next_request(
    client: httpx.AsyncClient, admin: dict[str, str], sign_up: SignUp, log_in: LogIn
) -> None:
    second = await sign_up(email="second@example.com")
    await client.patch(f"{USERS}/{second['id']}", json={"role": "admin"}, headers=admin)
    second_admin = bearer(await log_in(email="second@example.com"))
    assert (await client.get(USERS, headers=second_admin)).status_code == 200
    await client.patch(f"{USERS}/{second['id']}", json={"role": "user"}, headers=admin)
    assert (await client.get(USERS, headers=second_admin)).status_code == 403  # same token


async def test_the_last_active_admin_cannot_be_demoted_deactivated_or_deleted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    me = (await client.get("/api/v1/users/me", headers=admin)).json()
    for method, body in [
        ("PATCH", {"role": "user"}),
        ("PATCH", {"is_active": False}),
        ("DELETE", None),
    ]:
        response = await client.request(method, f"{USERS}/{me['id']}", json=body, headers=admin)
        assert response.status_code == 409, (method, body)
        assert response.json()["code"] == "last_admin"
    self_delete = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": PASSWORD}, headers=admin
    )
    assert self_delete.status_code == 409
    assert (await client.get("/api/v1/users/me", headers=admin)).json()["role"] == "admin"


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], sign_up: SignUp, log_in: LogIn
) -> None:
    root = (await client.get("/api/v1/users/me", headers=admin)).json()
    other = await sign_up(email="other@example.com")
    await client.patch(f"{USERS}/{other['id']}", json={"role": "admin"}, headers=admin)
    other_admin = bearer(await log_in(email="other@example.com"))
    responses = await asyncio.gather(
        client.patch(f"{USERS}/{other['id']}", json={"role": "user"}, headers=admin),
        client.patch(f"{USERS}/{root['id']}", json={"role": "user"}, headers=other_admin),
    )
    statuses = sorted(r.status_code for r in responses)
    # Whoever lost the race was either no admin any more (403) or would have been the last
    # admin's demoter (409); never both demoted, never a 500.
    assert statuses in ([200, 403], [200, 409]), statuses
    async with app.state.container.unit_of_work() as uow:
        assert len(await uow.users.active_admins()) == 1


async def test_listing_pages_filters_and_searches(
    client: httpx.AsyncClient, admin: dict[str, str], sign_up: SignUp
) -> None:
    for n in range(7):
        await sign_up(email=f"member{n}@example.com", name=f"Member {n}")
    await sign_up(email="zed_50%@example.com", name="Zed")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(USERS, params=params, headers=admin)).json()
        seen += [user["email"] for user in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 9  # root, seven members, zed
    members = (await client.get(USERS, params={"q": "MEMBER"}, headers=admin)).json()
    assert len(members["items"]) == 7
    by_name = (await client.get(USERS, params={"q": "zed"}, headers=admin)).json()
    assert [u["name"] for u in by_name["items"]] == ["Zed"]
    literal = (await client.get(USERS, params={"q": "_50%"}, headers=admin)).json()
    assert [u["name"] for u in literal["items"]] == ["Zed"]  # % and _ are not wildcards
    admins = (await client.get(USERS, params={"role": "admin"}, headers=admin)).json()
    assert [u["email"] for u in admins["items"]] == ["root@example.com"]
    active = (await client.get(USERS, params={"is_active": "false"}, headers=admin)).json()
    assert active["items"] == []


async def test_bad_list_parameters_are_validation_errors(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    cases: list[dict[str, str | int]] = [
        {"limit": 0},
        {"limit": 101},
        {"cursor": "garbage!"},
        {"role": "root"},
        {"q": ""},
    ]
    for params in cases:
        response = await client.get(USERS, params=params, headers=admin)
        assert response.status_code == 422, params
        assert response.json()["code"] == "validation_error"


async def test_the_audit_trail_records_who_did_what(
    client: httpx.AsyncClient, admin: dict[str, str], sign_up: SignUp
) -> None:
    target = await sign_up(email="audited@example.com")
    await client.patch(
        f"{USERS}/{target['id']}",
        json={"role": "admin"},
        headers={**admin, "user-agent": "admin-console/1.0"},
    )
    events = (
        await client.get("/api/v1/audit-events", params={"user_id": target["id"]}, headers=admin)
    ).json()["items"]
    types = [event["type"] for event in events]
    assert types == ["user.role_changed", "user.signed_up"]  # newest first
    change = events[0]
    root = (await client.get("/api/v1/users/me", headers=admin)).json()
    assert change["actor_id"] == root["id"]
    assert change["user_agent"] == "admin-console/1.0"
    assert change["ip"] == "203.0.113.7"
    assert change["data"] == {"old": "user", "new": "admin"}
    only_signups = (
        await client.get("/api/v1/audit-events", params={"type": "user.signed_up"}, headers=admin)
    ).json()["items"]
    assert {event["type"] for event in only_signups} == {"user.signed_up"}
    assert (
        await client.get("/api/v1/audit-events", params={"type": "nope"}, headers=admin)
    ).status_code == 422

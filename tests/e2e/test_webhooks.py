"""The admin API of webhooks, through the real app: registering shows the signing secret
once; a url must be https to a public address (resolved for real) unless private targets are
allowed; a test event is listed among the webhook's deliveries."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.e2e.conftest import LogIn, SignUp, bearer

WEBHOOKS = "/api/v1/webhooks"
# A literal public address: checked without a network, as a host name would be once resolved.
PUBLIC_URL = "https://93.184.215.14/portcullis"
HOOK = {"url": PUBLIC_URL, "events": ["user.created", "user.deleted"], "description": "CRM"}


async def register(
    client: httpx.AsyncClient, admin: dict[str, str], **fields: Any
) -> dict[str, Any]:
    response = await client.post(WEBHOOKS, json={**HOOK, **fields}, headers=admin)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_admin_registers_reads_lists_changes_and_deletes_a_webhook(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(WEBHOOKS, json=HOOK, headers=admin)

    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "url", "events", "description", "secret", "created_at"}
    webhook_id = body["id"]
    assert UUID(webhook_id)
    assert created.headers["location"] == f"{WEBHOOKS}/{webhook_id}"
    assert created.headers["cache-control"] == "no-store"
    assert (body["url"], body["events"], body["description"]) == (
        PUBLIC_URL,
        ["user.created", "user.deleted"],
        "CRM",
    )
    assert body["secret"].startswith("whsec_")
    assert 24 <= len(base64.b64decode(body["secret"].removeprefix("whsec_"))) <= 64

    without_secret = {k: v for k, v in body.items() if k != "secret"}
    fetched = await client.get(f"{WEBHOOKS}/{webhook_id}", headers=admin)
    assert (fetched.status_code, fetched.json()) == (200, without_secret)
    listed = await client.get(WEBHOOKS, headers=admin)
    assert (listed.status_code, listed.json()) == (200, [without_secret])
    assert body["secret"] not in fetched.text + listed.text

    patched = await client.patch(
        f"{WEBHOOKS}/{webhook_id}",
        json={"events": ["*"], "description": None},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**without_secret, "events": ["*"], "description": None}
    moved = await client.patch(
        f"{WEBHOOKS}/{webhook_id}", json={"url": "https://[2606:4700::1111]/in"}, headers=admin
    )
    assert (moved.status_code, moved.json()["url"]) == (200, "https://[2606:4700::1111]/in")

    deleted = await client.delete(f"{WEBHOOKS}/{webhook_id}", headers=admin)
    assert deleted.status_code == 204
    gone = await client.get(f"{WEBHOOKS}/{webhook_id}", headers=admin)
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    assert (await client.delete(f"{WEBHOOKS}/{webhook_id}", headers=admin)).status_code == 404
    assert (await client.get(WEBHOOKS, headers=admin)).json() == []

    trail = await client.get("/api/v1/audit-events", headers=admin)
    types = [event["type"] for event in trail.json()["items"]]
    assert types[:4] == [
        "webhook.deleted",
        "webhook.changed",
        "webhook.changed",
        "webhook.registered",
    ]
    assert body["secret"] not in trail.text


async def test_webhooks_are_forbidden_to_users_and_closed_to_strangers(
    client: httpx.AsyncClient, admin: dict[str, str], sign_up: SignUp, log_in: LogIn
) -> None:
    webhook_id = (await register(client, admin))["id"]
    await sign_up()
    user = bearer(await log_in())
    calls = [
        ("GET", WEBHOOKS, None),
        ("POST", WEBHOOKS, HOOK),
        ("GET", f"{WEBHOOKS}/{webhook_id}", None),
        ("PATCH", f"{WEBHOOKS}/{webhook_id}", {"description": "Mine"}),
        ("DELETE", f"{WEBHOOKS}/{webhook_id}", None),
        ("GET", f"{WEBHOOKS}/{webhook_id}/deliveries", None),
        ("POST", f"{WEBHOOKS}/{webhook_id}/test", None),
    ]
    for method, path, body in calls:
        as_user = await client.request(method, path, json=body, headers=user)
        assert (as_user.status_code, as_user.json()["code"]) == (403, "forbidden"), path
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
    unchanged = await client.get(f"{WEBHOOKS}/{webhook_id}", headers=admin)
    assert unchanged.json()["description"] == "CRM"
    deliveries = await client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", headers=admin)
    # The sign-up above queued its own event; the refused test requests queued nothing.
    assert [item["type"] for item in deliveries.json()["items"]] == ["user.created"]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data",
        "http://93.184.215.14/hook",
    ],
)
async def test_a_url_that_is_not_https_to_a_public_address_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], url: str
) -> None:
    refused = await client.post(WEBHOOKS, json={**HOOK, "url": url}, headers=admin)

    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "validation_error"
    assert [error["loc"] for error in problem["errors"]] == [["body", "url"]]
    assert (await client.get(WEBHOOKS, headers=admin)).json() == []

    webhook_id = (await register(client, admin))["id"]
    moved = await client.patch(f"{WEBHOOKS}/{webhook_id}", json={"url": url}, headers=admin)
    assert (moved.status_code, moved.json()["code"]) == (422, "validation_error")
    kept = await client.get(f"{WEBHOOKS}/{webhook_id}", headers=admin)
    assert kept.json()["url"] == PUBLIC_URL


@pytest.mark.parametrize(
    "fields",
    [
        {"url": "/relative"},
        {"url": "ftp://93.184.215.14/x"},
        {"url": "https://user:pw@93.184.215.14/x"},
        {"url": "https://93.184.215.14/x#fragment"},
        {"url": "https://93.184.215.14/" + "x" * 2000},
        {"events": []},
        {"events": ["user.exploded"]},
        {"events": ["*", "user.created"]},
        {"description": "x" * 201},
        {"url": None},
        {"secret": "whsec_mine"},
    ],
)
async def test_an_invalid_registration_is_a_validation_error(
    client: httpx.AsyncClient, admin: dict[str, str], fields: dict[str, Any]
) -> None:
    refused = await client.post(WEBHOOKS, json={**HOOK, **fields}, headers=admin)

    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "validation_error"
    assert (await client.get(WEBHOOKS, headers=admin)).json() == []


async def test_a_patch_may_not_null_the_url_or_events(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    webhook_id = (await register(client, admin))["id"]

    for field in ("url", "events"):
        refused = await client.patch(f"{WEBHOOKS}/{webhook_id}", json={field: None}, headers=admin)
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")


async def test_a_malformed_id_is_a_validation_error_and_an_unknown_one_not_found(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    malformed = await client.get(f"{WEBHOOKS}/not-a-uuid", headers=admin)
    assert malformed.status_code == 422
    unknown = "00000000-0000-4000-8000-000000000000"
    for method, path in [
        ("GET", f"{WEBHOOKS}/{unknown}"),
        ("PATCH", f"{WEBHOOKS}/{unknown}"),
        ("DELETE", f"{WEBHOOKS}/{unknown}"),
        ("GET", f"{WEBHOOKS}/{unknown}/deliveries"),
        ("POST", f"{WEBHOOKS}/{unknown}/test"),
    ]:
        body = {"description": "x"} if method == "PATCH" else None
        response = await client.request(method, path, json=body, headers=admin)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), path


async def test_a_test_event_is_listed_among_that_webhooks_deliveries_alone(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tested = (await register(client, admin))["id"]
    everything = (await register(client, admin, events=["*"]))["id"]

    sent = []
    for _ in range(3):
        response = await client.post(f"{WEBHOOKS}/{tested}/test", headers=admin)
        assert response.status_code == 202, response.text
        sent.append(response.json()["id"])

    first = await client.get(f"{WEBHOOKS}/{tested}/deliveries?limit=2", headers=admin)
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["next_cursor"] is not None
    [newest, _] = page["items"]
    assert set(newest) == {
        "id",
        "type",
        "status",
        "attempts",
        "last_response_status",
        "next_attempt_at",
        "created_at",
    }
    assert (newest["type"], newest["status"], newest["attempts"]) == ("webhook.test", "pending", 0)
    assert newest["last_response_status"] is None
    rest = await client.get(
        f"{WEBHOOKS}/{tested}/deliveries",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=admin,
    )
    assert rest.json()["next_cursor"] is None
    listed = [item["id"] for item in page["items"] + rest.json()["items"]]
    assert sorted(listed) == sorted(sent)
    assert len(set(listed)) == 3
    others = await client.get(f"{WEBHOOKS}/{everything}/deliveries", headers=admin)
    assert others.json() == {"items": [], "next_cursor": None}
    bad_cursor = await client.get(
        f"{WEBHOOKS}/{tested}/deliveries", params={"cursor": "nonsense!"}, headers=admin
    )
    assert bad_cursor.status_code == 422


@pytest.mark.parametrize("settings_overrides", [{"webhook_allow_private": True}])
async def test_private_targets_and_plain_http_are_allowed_when_the_operator_says_so(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for url in ("http://localhost:8080/hook", "https://10.0.0.1/hook", "https://[::1]/hook"):
        body = await register(client, admin, url=url)
        assert body["url"] == url

"""Contract §4 and the session endpoints: rotation, replay detection, logout, revocation."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, event

from adapters.persistence.fast_reads import ThreadedSqliteReads
from tests.e2e.conftest import LogIn, SignUp, bearer

REFRESH = "/api/v1/auth/refresh"
SESSIONS = "/api/v1/users/me/sessions"


async def _refresh(client: httpx.AsyncClient, pair: dict[str, Any]) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})


async def test_refresh_returns_a_new_pair_and_the_old_refresh_token_stops_working(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    first = await log_in()
    response = await _refresh(client, first)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await client.get("/api/v1/users/me", headers=bearer(second))).status_code == 200
    third = await _refresh(client, second)
    assert third.status_code == 200


async def test_replaying_a_rotated_refresh_token_revokes_the_whole_session(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    stolen = await log_in()
    legit = (await _refresh(client, stolen)).json()

    replay = await _refresh(client, stolen)
    assert replay.status_code == 401
    assert replay.json()["code"] == "refresh_token_reused"
    assert replay.headers["www-authenticate"].startswith("Bearer")

    # Everything of that session is dead now: the legitimate pair too.
    me = await client.get("/api/v1/users/me", headers=bearer(legit))
    assert me.json()["code"] == "invalid_token"
    again = await _refresh(client, legit)
    assert again.json()["code"] == "invalid_refresh_token"


async def test_replay_revokes_only_that_session(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    stolen = await log_in()
    other_device = await log_in()
    await _refresh(client, stolen)
    await _refresh(client, stolen)
    assert (await client.get("/api/v1/users/me", headers=bearer(other_device))).status_code == 200


async def test_unknown_refresh_tokens_are_invalid(client: httpx.AsyncClient) -> None:
    for token in ["nope", "x" * 43, "' OR 1=1 --"]:
        response = await client.post(REFRESH, json={"refresh_token": token})
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_refresh_token"
    for body in [{}, {"refresh_token": ""}, {"refresh_token": "x", "extra": 1}]:
        assert (await client.post(REFRESH, json=body)).status_code == 422


async def test_concurrent_refreshes_of_one_token_give_at_most_one_200_and_no_500(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    pair = await log_in()
    responses = await asyncio.gather(*(_refresh(client, pair) for _ in range(50)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) <= 1
    assert set(statuses) <= {200, 401}
    codes = {r.json()["code"] for r in responses if r.status_code == 401}
    assert codes <= {"refresh_token_reused", "invalid_refresh_token"}


async def test_logout_ends_the_current_session_at_once(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    here = await log_in()
    elsewhere = await log_in()
    response = await client.post("/api/v1/auth/logout", headers=bearer(here))
    assert response.status_code == 204
    me = await client.get("/api/v1/users/me", headers=bearer(here))
    assert me.status_code == 401
    assert me.json()["code"] == "invalid_token"
    assert (await _refresh(client, here)).json()["code"] == "invalid_refresh_token"
    assert (await client.get("/api/v1/users/me", headers=bearer(elsewhere))).status_code == 200
    assert (await client.post("/api/v1/auth/logout")).status_code == 401


async def test_sessions_are_listed_with_the_current_one_marked(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    await sign_up(email="bob@example.com")
    await log_in(email="bob@example.com")
    first = await log_in()
    second = await log_in()
    response = await client.get(SESSIONS, headers=bearer(second))
    assert response.status_code == 200
    listed = response.json()
    assert len(listed) == 2  # Bob's session is not Ada's business
    assert [s["current"] for s in listed] == [True, False]
    assert set(listed[0]) == {
        "id",
        "created_at",
        "last_used_at",
        "expires_at",
        "user_agent",
        "ip",
        "current",
    }
    assert listed[0]["ip"] == "203.0.113.7"
    from_first = (await client.get(SESSIONS, headers=bearer(first))).json()
    assert [s["current"] for s in from_first] == [False, True]


async def test_deleting_a_session_logs_that_device_out(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    here = await log_in()
    there = await log_in()
    listed = (await client.get(SESSIONS, headers=bearer(here))).json()
    there_id = next(s["id"] for s in listed if not s["current"])
    assert (await client.delete(f"{SESSIONS}/{there_id}", headers=bearer(here))).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=bearer(there))).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=bearer(here))).status_code == 200
    again = await client.delete(f"{SESSIONS}/{there_id}", headers=bearer(here))
    assert again.status_code == 404


async def test_another_users_session_is_404_and_stays_alive(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    await sign_up(email="bob@example.com")
    ada = await log_in()
    bob = await log_in(email="bob@example.com")
    bobs_id = (await client.get(SESSIONS, headers=bearer(bob))).json()[0]["id"]
    response = await client.delete(f"{SESSIONS}/{bobs_id}", headers=bearer(ada))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert (await client.get("/api/v1/users/me", headers=bearer(bob))).status_code == 200
    unknown = await client.delete(
        f"{SESSIONS}/00000000-0000-4000-8000-000000000000", headers=bearer(ada)
    )
    assert unknown.json() == {**response.json(), "request_id": unknown.json()["request_id"]}
    assert (await client.delete(f"{SESSIONS}/not-a-uuid", headers=bearer(ada))).status_code == 422


async def test_deleting_all_sessions_logs_out_everywhere_including_here(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    here = await log_in()
    there = await log_in()
    assert (await client.delete(SESSIONS, headers=bearer(here))).status_code == 204
    for pair in (here, there):
        assert (await client.get("/api/v1/users/me", headers=bearer(pair))).status_code == 401
        assert (await _refresh(client, pair)).status_code == 401


async def test_a_password_change_kills_other_devices_refresh_tokens_too(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    here = await log_in()
    there = await log_in()
    changed = await client.put(
        "/api/v1/users/me/password",
        json={"current_password": "correct horse battery staple", "new_password": "n3w phrase ok!"},
        headers=bearer(here),
    )
    assert changed.status_code == 204
    assert (await _refresh(client, there)).json()["code"] == "invalid_refresh_token"
    assert (await _refresh(client, here)).status_code == 200


async def test_authenticating_a_request_costs_one_query(
    app: FastAPI,
    client: httpx.AsyncClient,
    sign_up: SignUp,
    log_in: LogIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await sign_up()
    auth = bearer(await log_in())
    await client.get("/api/v1/users/me", headers=auth)  # keys are cached from here on
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    # Every SQLAlchemy engine in the process, and each driver as the authentication read uses
    # it directly (adapters/persistence/fast_reads.py): asyncpg's fetchrow, and the SQLite
    # reads' own connection, which they opened for the first request.
    reader = app.state.container.database().fast_reads
    if isinstance(reader, ThreadedSqliteReads):
        # Its connection is the reads' own: nothing else could show the statements they run.
        connection = reader._connection  # noqa: SLF001
        assert connection is not None
        connection.set_trace_callback(statements.append)
    real_fetchrow = asyncpg.connection.Connection.fetchrow

    async def recorded_fetchrow(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(query)
        return await real_fetchrow(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.connection.Connection, "fetchrow", recorded_fetchrow)
    event.listen(Engine, "before_cursor_execute", record)
    try:
        response = await client.get("/api/v1/users/me", headers=auth)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert len(statements) == 1, statements
    assert "sessions" in statements[0]
    assert "users" in statements[0]

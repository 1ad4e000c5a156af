"""PostgreSQL terminates the service's connections (a restart, a failover, an administrator's
pg_terminate_backend) while requests are in flight: every request answers as the contract
says, 200 or 503 `service_unavailable`, never a 500; and the service recovers by itself.
Every path to the database goes through one error mapping, so a driver error met on one path
is known to all of them."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from adapters.persistence.database import Database
from adapters.persistence.errors import is_unavailable
from application.errors import StorageUnavailable
from tests.e2e.conftest import LogIn, SignUp, bearer

ROUNDS = 6
REQUESTS_PER_ROUND = 40
PROTOCOL_LEFT_MIDWAY = asyncpg.exceptions.InternalClientError(
    "cannot switch to state 12; another operation (2) is in progress"
)


def test_a_connection_left_midway_through_the_protocol_is_an_unavailable_database() -> None:
    assert is_unavailable(PROTOCOL_LEFT_MIDWAY)


@pytest.mark.postgres
async def test_a_broken_driver_connection_is_unavailable_and_never_handed_out_again(
    request: pytest.FixtureRequest,
) -> None:
    database = Database(request.getfixturevalue("postgres_database"), pool_size=1)
    try:
        with pytest.raises(StorageUnavailable):
            async with database.driver_connection():
                raise PROTOCOL_LEFT_MIDWAY
        async with database.driver_connection() as connection:
            assert await connection.fetchval("SELECT 1") == 1
    finally:
        await database.aclose()


async def _terminate_the_services_connections(database_url: str) -> None:
    url = make_url(database_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            url.database,
        )
    finally:
        await connection.close()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_connections_terminated_under_concurrent_requests_never_give_a_500(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn, database_url: str
) -> None:
    await sign_up()
    auth = bearer(await log_in())
    statuses: Counter[int] = Counter()
    codes: Counter[str] = Counter()

    async def one(index: int) -> None:
        if index % 4 == 0:
            response = await client.patch(
                "/api/v1/users/me", headers=auth, json={"name": f"Ada {index}"}
            )
        else:
            response = await client.get("/api/v1/users/me", headers=auth)
        statuses[response.status_code] += 1
        if response.status_code != 200:
            codes[response.json().get("code", "")] += 1

    for _ in range(ROUNDS):
        requests = [asyncio.create_task(one(i)) for i in range(REQUESTS_PER_ROUND)]
        await asyncio.sleep(0.005)
        await _terminate_the_services_connections(database_url)
        await asyncio.gather(*requests)

    assert set(statuses) <= {200, 503}, (statuses, codes)
    assert set(codes) <= {"service_unavailable"}, codes
    recovered = await client.get("/api/v1/users/me", headers=auth)
    assert recovered.status_code == 200

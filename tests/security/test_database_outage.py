"""The database goes away and comes back (contract §2, §5). The app talks to
PostgreSQL through a TCP proxy this test controls: `cut()` drops every open connection and
turns new ones away, as a crashed server or a failover does; `restore()` lets them through
again. Meanwhile: 503 `service_unavailable` with Retry-After (never a 500, never a hang, never
internals), /healthz still 200, /readyz 503 — and afterwards service resumes by itself, with
nothing half-written left behind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.databases import truncate_postgres
from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer

pytestmark = pytest.mark.postgres

# asyncpg gives up connecting after 5 s (adapters/persistence/database.py); a request that takes
# much longer than that is hanging.
REQUEST_BOUND_SECONDS = 8.0
RECOVERY_SECONDS = 10.0
LEAKS = ("traceback", "sqlalchemy", "asyncpg", "postgres", "select ", "insert ", ".py", "5432")


class CuttableProxy:
    """127.0.0.1:<free port> → the PostgreSQL server, with a switch."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._cut = False
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        self._cut = True
        for writer in list(self._open):
            writer.transport.abort()  # a reset, not a polite goodbye

    def restore(self) -> None:
        self._cut = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer, upstream_writer}
        self._open |= pair
        try:
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        finally:
            self._open -= pair

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()


@pytest.fixture
async def proxy(postgres_database: str) -> AsyncIterator[CuttableProxy]:
    url = make_url(postgres_database)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture
async def database_url(postgres_database: str, proxy: CuttableProxy) -> str:
    """This run's PostgreSQL database, emptied, reached through the proxy."""
    await truncate_postgres(postgres_database)
    url = make_url(postgres_database).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


async def bounded(request: Awaitable[httpx.Response]) -> httpx.Response:
    started = time.monotonic()
    try:
        return await asyncio.wait_for(request, REQUEST_BOUND_SECONDS)
    except TimeoutError:
        pytest.fail(f"no answer in {time.monotonic() - started:.1f} s: the request hangs")


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "service_unavailable"
    assert int(response.headers["retry-after"]) > 0
    text = response.text.lower()
    for leak in LEAKS:
        assert leak not in text, leak


async def wait_until_ready(client: httpx.AsyncClient) -> float:
    """Seconds until /readyz says 200 again, polling as a load balancer would."""
    started = time.monotonic()
    while True:
        response = await bounded(client.get("/readyz"))
        if response.status_code == 200:
            return time.monotonic() - started
        assert time.monotonic() - started < RECOVERY_SECONDS, "no recovery: " + response.text
        await asyncio.sleep(0.2)


def login(client: httpx.AsyncClient, email: str = "ada@example.com") -> Awaitable[httpx.Response]:
    return client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})


def signup(client: httpx.AsyncClient, email: str) -> Awaitable[httpx.Response]:
    return client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})


@pytest.fixture
async def tokens_before_the_cut(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> dict[str, Any]:
    await sign_up()
    tokens = await log_in()
    assert (await client.get("/api/v1/users/me", headers=bearer(tokens))).status_code == 200
    return tokens


@pytest.mark.usefixtures("tokens_before_the_cut")
async def test_readyz_reports_the_outage_and_healthz_stays_up(
    client: httpx.AsyncClient, proxy: CuttableProxy
) -> None:
    assert (await bounded(client.get("/readyz"))).status_code == 200

    proxy.cut()

    assert_unavailable(await bounded(client.get("/readyz")))
    healthz = await bounded(client.get("/healthz"))
    assert healthz.status_code == 200
    assert healthz.json() == {"status": "ok"}


async def test_requests_during_the_outage_are_503_not_500_nor_a_hang(
    client: httpx.AsyncClient, proxy: CuttableProxy, tokens_before_the_cut: dict[str, Any]
) -> None:
    proxy.cut()

    # Each twice: the first meets the pool's dead connections, the second a refused connect.
    for _ in range(2):
        assert_unavailable(await bounded(login(client)))
        assert_unavailable(await bounded(signup(client, "bob@example.com")))
        assert_unavailable(
            await bounded(client.get("/api/v1/users/me", headers=bearer(tokens_before_the_cut)))
        )
        assert_unavailable(
            await bounded(
                client.post("/api/v1/auth/password/forgot", json={"email": "ada@example.com"})
            )
        )
        assert_unavailable(
            await bounded(
                client.post(
                    "/api/v1/auth/refresh",
                    json={"refresh_token": tokens_before_the_cut["refresh_token"]},
                )
            )
        )


async def test_service_resumes_by_itself_when_the_database_returns(
    client: httpx.AsyncClient, proxy: CuttableProxy, tokens_before_the_cut: dict[str, Any]
) -> None:
    proxy.cut()
    assert_unavailable(await bounded(client.get("/readyz")))
    assert_unavailable(await bounded(login(client)))

    proxy.restore()

    assert await wait_until_ready(client) < RECOVERY_SECONDS
    me = await bounded(client.get("/api/v1/users/me", headers=bearer(tokens_before_the_cut)))
    assert me.status_code == 200, me.text
    assert (await bounded(login(client))).status_code == 200
    assert (await bounded(signup(client, "bob@example.com"))).status_code == 201


@pytest.mark.usefixtures("tokens_before_the_cut")
async def test_a_signup_during_the_outage_leaves_nothing_behind(
    client: httpx.AsyncClient, proxy: CuttableProxy
) -> None:
    proxy.cut()
    assert_unavailable(await bounded(signup(client, "carol@example.com")))
    proxy.restore()
    await wait_until_ready(client)

    refused = await bounded(login(client, "carol@example.com"))
    assert refused.status_code == 401, refused.text
    assert refused.json()["code"] == "invalid_credentials"
    assert (await bounded(signup(client, "carol@example.com"))).status_code == 201
    assert (await bounded(login(client, "carol@example.com"))).status_code == 200

"""Login timing: does an unknown email answer as slowly as a wrong password?

Runs the real app in-process on a fresh SQLite database, with bcrypt at
PORTCULLIS_BCRYPT_ROUNDS (default 12), and prints the median time of each kind of failed login.
Run with `make bench-login-timing`. The throttle is raised out of the way: this measures
hashing, not lockout."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.logging import configure_logging
from entrypoints.migrations import upgrade_to_head
from entrypoints.settings import load_settings

SAMPLES = int(os.environ.get("PORTCULLIS_BENCH_SAMPLES", "25"))


async def _time_ms(client: httpx.AsyncClient, email: str) -> float:
    started = time.perf_counter()
    response = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "wrong password here"}
    )
    assert response.status_code == 401, response.text
    return (time.perf_counter() - started) * 1000


async def _medians_ms(client: httpx.AsyncClient) -> tuple[float, float]:
    # Interleaved, so a busy moment of the machine weighs on both kinds alike.
    wrong, unknown = [], []
    for _ in range(SAMPLES):
        wrong.append(await _time_ms(client, "known@example.com"))
        unknown.append(await _time_ms(client, "unknown@example.com"))
    return statistics.median(wrong), statistics.median(unknown)


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        await asyncio.to_thread(upgrade_to_head, url)
        settings = load_settings(
            database_url=url,
            login_max_failures=10_000,
            rate_limit_per_minute=0,
            mail_dispatch_interval_seconds=0,
            log_level="ERROR",
        )
        configure_logging("json", "ERROR")
        app = create_app(build_container(settings))
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await client.post(
                    "/api/v1/auth/signup",
                    json={"email": "known@example.com", "password": "correct horse battery staple"},
                )
                wrong, unknown = await _medians_ms(client)
    print(f"bcrypt rounds {settings.bcrypt_rounds}, {SAMPLES} samples each")
    print(f"median wrong password : {wrong:8.1f} ms")
    print(f"median unknown email  : {unknown:8.1f} ms")
    print(f"difference            : {abs(wrong - unknown) / max(wrong, unknown) * 100:7.1f} %")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""Accounts for the workloads, made through the service's own API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import httpx

_SEEDING_IN_FLIGHT = 4  # bcrypt runs in the worker's threads: enough to keep both cores busy


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    access_token: str  # of a session the token workloads share
    refresh_token: str  # of a second session, which nothing but the refresh chain uses


@dataclass(frozen=True)
class Seeded:
    """The files the wrk scripts read, one line an account."""

    accounts: Path  # "email<TAB>password"
    access_tokens: Path
    refresh_tokens: Path


def _expect(response: httpx.Response, status: int, step: str) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(f"seeding: {step} {response.status_code} {response.text}")
    return response


async def _account(
    client: httpx.AsyncClient, limit: asyncio.Semaphore, tag: str, i: int
) -> Account:
    credentials = {
        "email": f"user-{tag}-{i}@bench.example.com",
        "password": f"bench-{tag}-{i}-Tr0mbone-quartz",
    }
    async with limit:
        _expect(await client.post("/api/v1/auth/signup", json=credentials), 201, "signup")
        sessions = [
            _expect(await client.post("/api/v1/auth/login", json=credentials), 200, "login").json()
            for _ in range(2)
        ]
    return Account(
        email=credentials["email"],
        password=credentials["password"],
        access_token=str(sessions[0]["access_token"]),
        refresh_token=str(sessions[1]["refresh_token"]),
    )


async def _accounts(base_url: str, tag: str, count: int) -> list[Account]:
    limit = asyncio.Semaphore(_SEEDING_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        return await asyncio.gather(*(_account(client, limit, tag, i) for i in range(count)))


def seed(base_url: str, tag: str, count: int, workdir: Path) -> Seeded:
    """`count` accounts signed up, each logged in twice; their files written in `workdir`."""
    accounts = asyncio.run(_accounts(base_url, tag, count))
    seeded = Seeded(workdir / "accounts.tsv", workdir / "access.txt", workdir / "refresh.txt")
    seeded.accounts.write_text("".join(f"{a.email}\t{a.password}\n" for a in accounts))
    seeded.access_tokens.write_text("".join(f"{a.access_token}\n" for a in accounts))
    seeded.refresh_tokens.write_text("".join(f"{a.refresh_token}\n" for a in accounts))
    return seeded

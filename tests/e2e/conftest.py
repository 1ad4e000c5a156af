"""HTTP tests go through the real app: real container, real database, real middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol
from uuid import UUID

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from application.use_cases.admin.create_or_promote_admin import CreateOrPromoteAdminCommand
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.signing_keys import with_reused_key_material

PASSWORD = "correct horse battery staple"


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "bcrypt_rounds": 4,  # the cost is a setting; the tests need speed, not strength
        "log_format": "json",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to start the app with other settings."""
    return {}


@pytest.fixture
async def app(database_url: str, settings_overrides: dict[str, Any]) -> AsyncIterator[FastAPI]:
    container = build_container(settings_for(database_url, **settings_overrides))
    application = create_app(with_reused_key_material(container))
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portcullis.test") as client:
        yield client


class SignUp(Protocol):
    """Signs an account up through the API; the created user's JSON."""

    async def __call__(
        self, email: str = ..., password: str = ..., name: str | None = None
    ) -> dict[str, Any]: ...


class LogIn(Protocol):
    """Logs in through the API; the token pair's JSON."""

    async def __call__(self, email: str = ..., password: str = ...) -> dict[str, Any]: ...


@pytest.fixture
def sign_up(client: httpx.AsyncClient) -> SignUp:
    async def sign_up(
        email: str = "ada@example.com", password: str = PASSWORD, name: str | None = None
    ) -> dict[str, Any]:
        named = {} if name is None else {"name": name}
        response = await client.post(
            "/api/v1/auth/signup", json={"email": email, "password": password, **named}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return sign_up


@pytest.fixture
def log_in(client: httpx.AsyncClient) -> LogIn:
    async def log_in(email: str = "ada@example.com", password: str = PASSWORD) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return log_in


@pytest.fixture
async def admin(app: FastAPI, sign_up: SignUp, log_in: LogIn) -> dict[str, str]:
    """The Authorization header of an admin, root@example.com."""
    await sign_up(email="root@example.com")
    await app.state.container.create_or_promote_admin().execute(
        CreateOrPromoteAdminCommand(email="root@example.com")
    )
    return bearer(await log_in(email="root@example.com"))


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def set_active(app: FastAPI, user_id: str, *, active: bool) -> None:
    async with app.state.container.unit_of_work() as uow:
        user = await uow.users.get(UUID(user_id))
        assert user is not None
        user.is_active = active
        await uow.users.save(user)
        await uow.commit()

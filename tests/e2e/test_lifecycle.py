"""The process's start-up and shutdown: building the wiring does nothing, starting opens what
serving needs, and stopping leaves no task running and no connection open."""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from asgi_lifespan import LifespanManager
from dependency_injector import providers
from pydantic import SecretStr
from sqlalchemy.pool import QueuePool

from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app
from entrypoints.lifecycle import in_background, running
from entrypoints.settings import UpstreamProviderSettings
from tests.e2e.conftest import settings_for
from tests.oidc_provider import oidc_provider, proxy


def connections_in_use(container: Container) -> int:
    pool = container.database().engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedout()


def test_building_every_part_of_the_container_starts_no_thread(database_url: str) -> None:
    container = build_container(settings_for(database_url))
    before = threading.active_count()

    for provider in container.providers.values():
        if not isinstance(provider, providers.Dependency):
            provider()

    assert threading.active_count() == before


async def test_stopping_the_app_awaits_every_task_it_started(database_url: str) -> None:
    container = build_container(settings_for(database_url, mail_dispatch_interval_seconds=1))
    app = create_app(container)
    before = asyncio.all_tasks()

    async with LifespanManager(app):
        started = asyncio.all_tasks() - before
        assert started  # the key refresh and the mail dispatcher at least

    assert all(task.done() for task in started)
    assert connections_in_use(container) == 0


async def test_the_cli_opens_and_closes_the_same_database_without_server_tasks(
    database_url: str,
) -> None:
    container = build_container(settings_for(database_url))
    before = asyncio.all_tasks()

    async with running(container, serving=False):
        assert asyncio.all_tasks() - before == set()
        await container.database().ping()

    assert connections_in_use(container) == 0


async def test_a_background_task_is_cancelled_and_awaited_when_its_block_ends() -> None:
    stopped = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            stopped.set()

    async with in_background(forever()) as task:
        await asyncio.sleep(0)

    assert task.done()
    assert stopped.is_set()


async def test_serving_freezes_what_start_up_made_and_stopping_thaws_it(database_url: str) -> None:
    """A full collection then walks only what serving made, not every module and object the
    process holds for its whole life (pauses of 100 ms and more under load otherwise)."""
    app = create_app(build_container(settings_for(database_url)))

    async with LifespanManager(app):
        assert gc.get_freeze_count() > 0

    assert gc.get_freeze_count() == 0


@contextmanager
def silent_server() -> Iterator[str]:
    """An address that takes connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def upstream(provider_id: str, issuer: str) -> UpstreamProviderSettings:
    return UpstreamProviderSettings(
        id=provider_id,
        name=provider_id.title(),
        issuer=issuer,
        client_id="portcullis",
        client_secret=SecretStr("secret"),
    )


async def test_start_up_fetches_the_upstream_providers_documents_without_waiting_for_them(
    database_url: str,
) -> None:
    with silent_server() as silent, oidc_provider() as issuer, proxy(issuer) as front:
        container = build_container(
            settings_for(
                database_url,
                oidc_providers=(upstream("silent", silent), upstream("mock", front.url)),
            )
        )
        started = time.monotonic()
        async with LifespanManager(create_app(container)):
            # The silent provider holds its fetch for the whole timeout (5 s); start-up is done
            # long before.
            assert time.monotonic() - started < 2
            for _ in range(200):
                if "/.well-known/openid-configuration" in front.paths:
                    break
                await asyncio.sleep(0.01)

        assert "/.well-known/openid-configuration" in front.paths
        assert [p.id for p in container.upstream_providers().configured()] == ["silent", "mock"]

"""Start-up and shutdown of one process, in one place, for the HTTP app and the CLI alike: what
is opened is closed in the reverse order, and every background task that is cancelled is awaited
before the resources it uses are closed."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog

from adapters.persistence.sealed_secrets import SealedSecretsUnreadable
from application.errors import StorageUnavailable
from application.ports.rate_limit import RateLimiter
from application.use_cases.ensure_signing_key import EnsureSigningKeyCommand
from entrypoints.container import Container
from entrypoints.mail_dispatcher import dispatch_forever
from entrypoints.settings import ENV_PREFIX, ConfigurationError

log = structlog.get_logger("portcullis")

SIGNING_KEY_RETRY_SECONDS = 5.0


@asynccontextmanager
async def running(container: Container, *, serving: bool) -> AsyncIterator[None]:
    """The process's resources, open for the block. `serving` adds what only a server needs:
    the signing keys loaded before the first request and kept fresh, the unknown-email hash
    made up front, the upstream providers' discovery documents, and the mail dispatcher."""
    async with AsyncExitStack() as stack:
        database = container.database()
        await database.open()
        stack.push_async_callback(database.aclose)
        if serving:
            await _start_serving(container, stack)
            _freeze_what_start_up_made()
            stack.callback(gc.unfreeze)
        else:
            await verify_sealed_secrets(container)
        yield


async def check_before_serving(container: Container) -> None:
    """What `serve` checks in its own process before uvicorn starts, so that keys that do not
    open the stored secrets stop it with one line rather than a worker failing to start; and
    the signing keys a first start makes, made here once rather than by every worker at the
    same moment. A database that is down is no reason not to serve: each worker then waits
    for it (see `_ensure_signing_key`)."""
    database = container.database()
    await database.open()
    try:
        await verify_sealed_secrets(container)
        await container.ensure_signing_key().execute(EnsureSigningKeyCommand())
    except StorageUnavailable:
        pass
    finally:
        await database.aclose()


async def verify_sealed_secrets(container: Container, *, serving: bool = False) -> None:
    """Every sealed value in the database must open under the configured keys: found now, a
    wrong or missing key stops start-up; found at the first login, it would be a 500."""
    try:
        checks = await container.sealed_secrets().verify()
    except SealedSecretsUnreadable as error:
        raise ConfigurationError(f"{ENV_PREFIX}ENCRYPTION_KEYS: {error}") from None
    if serving and container.settings().encryption_keys:
        for check in checks:
            if check.plain:
                log.warning(
                    "secrets_not_sealed",
                    column=check.column,
                    count=check.plain,
                    remedy="portcullis secrets reencrypt",
                )


async def _start_serving(container: Container, stack: AsyncExitStack) -> None:
    limiter: RateLimiter | None = container.rate_limiter()
    if limiter is not None:  # None: rate limiting is off
        stack.push_async_callback(limiter.aclose)
    await container.password_hasher().prepare()
    keys = container.key_ring()
    stack.push_async_callback(keys.aclose)
    if not await _ensure_signing_key(container, retry=False):
        # Serve anyway: /healthz answers, /readyz says why, and the key comes with the database.
        await stack.enter_async_context(in_background(_ensure_signing_key(container, retry=True)))
    await stack.enter_async_context(in_background(keys.keep_fresh()))
    # In the background: a slow or unreachable provider delays no request and stops nothing;
    # one not ready by its first sign-in is fetched then.
    await stack.enter_async_context(in_background(container.upstream_providers().warm()))
    interval = container.settings().mail_dispatch_interval_seconds
    if interval > 0:
        dispatch = container.dispatch_outbox()
        await stack.enter_async_context(in_background(dispatch_forever(dispatch, interval)))


def _freeze_what_start_up_made() -> None:
    """Everything imported and built so far lives as long as the process. Left to the garbage
    collector, each full collection walks all of it again, a pause of a hundred milliseconds or
    more in the middle of requests; frozen, a collection walks only what serving has made."""
    gc.collect()
    gc.freeze()


async def _ensure_signing_key(container: Container, *, retry: bool) -> bool:
    """On first start there is no key yet: make one. With the database down, try again later.
    Either way the stored secrets are checked against the keys first, so that no key is
    generated under a key that could not open the others."""
    while True:
        try:
            await verify_sealed_secrets(container, serving=True)
            await container.ensure_signing_key().execute(EnsureSigningKeyCommand())
            # Loaded before serving: issuing a token never waits for the first load.
            await container.key_ring().load()
            return True
        except StorageUnavailable:
            log.warning("signing_key_check_postponed", reason="database unavailable")
            if not retry:
                return False
            await asyncio.sleep(SIGNING_KEY_RETRY_SECONDS)


@asynccontextmanager
async def in_background(work: Coroutine[Any, Any, Any]) -> AsyncIterator[asyncio.Task[Any]]:
    """Run `work` as a task for the block; then cancel it and wait until it has stopped."""
    task = asyncio.create_task(work)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await task
            except Exception:
                log.exception("background_task_failed", task=task.get_name())

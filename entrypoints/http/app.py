"""The FastAPI application factory. No app exists at import time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from adapters.rate_limit.redis import RedisRateLimiter
from application.errors import StorageUnavailable
from application.use_cases.ensure_signing_key import EnsureSigningKeyCommand
from entrypoints.container import Container, build_container
from entrypoints.http.docs import install_docs
from entrypoints.http.errors import install_error_handlers
from entrypoints.http.metrics import Metrics
from entrypoints.http.metrics import router as metrics_router
from entrypoints.http.middleware import (
    BodySizeLimitMiddleware,
    ProblemCORSMiddleware,
    RequestContextMiddleware,
)
from entrypoints.http.openapi import install_problem_openapi
from entrypoints.http.routers import admin, auth, health, me, pages, recovery, sessions
from entrypoints.logging import configure_logging
from entrypoints.mail_dispatcher import dispatch_forever
from entrypoints.settings import load_settings

log = structlog.get_logger("portcullis")

SIGNING_KEY_RETRY_SECONDS = 5.0
STATIC_DIR = Path(__file__).resolve().parent / "static"

API_DESCRIPTION = """\
Sign up, log in, keep sessions and manage your account. Every error is
`application/problem+json` with a stable `code`. Use **Authorize** with your email as
username to call the endpoints that need a bearer token."""


async def _ensure_signing_key(container: Container, *, retry: bool) -> bool:
    """On first start there is no key yet: make one. With the database down, try again later."""
    while True:
        try:
            await container.ensure_signing_key().execute(EnsureSigningKeyCommand())
            # Loaded before serving: issuing a token never waits for the first load.
            await container.access_tokens().load()
            return True
        except StorageUnavailable:
            log.warning("signing_key_check_postponed", reason="database unavailable")
            if not retry:
                return False
            await asyncio.sleep(SIGNING_KEY_RETRY_SECONDS)


def create_app(container: Container) -> FastAPI:
    settings = container.settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The hasher makes its dummy hash when built: build it in a thread, before serving.
        await asyncio.to_thread(container.password_hasher)
        background = None
        if not await _ensure_signing_key(container, retry=False):
            # Serve anyway: /healthz answers, /readyz says why, and the key comes with the database.
            background = asyncio.create_task(_ensure_signing_key(container, retry=True))
        keys = asyncio.create_task(container.access_tokens().keep_fresh())
        dispatcher = None
        if settings.mail_dispatch_interval_seconds > 0:
            dispatcher = asyncio.create_task(
                dispatch_forever(
                    container.dispatch_outbox(), settings.mail_dispatch_interval_seconds
                )
            )
        yield
        for task in (background, dispatcher, keys):
            if task is not None:
                task.cancel()
        await container.authenticated_users().aclose()
        await container.engine().dispose()
        limiter = container.rate_limiter()
        if isinstance(limiter, RedisRateLimiter):
            await limiter.aclose()

    app = FastAPI(
        title="Portcullis",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # FastAPI's own OpenTelemetry hooks asked the global providers on every request (issue 7's
        # profile); the service has none configured, and its metrics are Prometheus at /metrics.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    app.state.metrics = Metrics(container.metrics_registry())
    install_error_handlers(app)
    # Routes are matched in order, one by one (issue 7: most of what /healthz costs): the
    # paths every client calls all the time come first. /users/me stays ahead of admin's
    # /users/{id}.
    for module in (me, health, auth, sessions, recovery, admin, pages):
        app.include_router(module.router)
    app.include_router(metrics_router)
    install_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_problem_openapi(app)

    if settings.cors_origins:
        app.add_middleware(
            ProblemCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "Location"],
        )
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)  # added last: outermost
    return app


def create_app_from_environment() -> FastAPI:
    """uvicorn's factory: every worker process builds its own settings, container and app."""
    settings = load_settings()
    configure_logging(settings.resolved_log_format, settings.log_level)
    return create_app(build_container(settings))

"""The FastAPI application factory. No app exists at import time."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

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
from entrypoints.http.pages import (
    account,
    account_applications,
    account_identities,
    account_passkeys,
    account_security,
    email_links,
    forgot_password,
    oauth_authorize,
    oauth_logout,
    sign_in,
    sign_up,
    upstream_sign_in,
)
from entrypoints.http.pages.errors import install_page_error_handlers
from entrypoints.http.routers import (
    admin,
    auth,
    grants,
    health,
    identities,
    me,
    mfa,
    oauth_clients,
    oauth_revocation,
    oauth_token,
    oauth_userinfo,
    oidc_discovery,
    passkeys,
    recovery,
    sessions,
    webhooks,
)
from entrypoints.lifecycle import running
from entrypoints.logging import configure_logging
from entrypoints.settings import load_settings

STATIC_DIR = Path(__file__).resolve().parent / "static"

API_DESCRIPTION = """\
Sign up, log in, keep sessions and manage your account. Every error is
`application/problem+json` with a stable `code`. Use **Authorize** with your email as
username to call the endpoints that need a bearer token."""


def create_app(container: Container) -> FastAPI:
    settings = container.settings()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with running(container, serving=True):
            yield

    app = FastAPI(
        title="Portcullis",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # FastAPI's own OpenTelemetry hooks ask the global providers on every request; the
        # service configures none, and its metrics are Prometheus at /metrics.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    app.state.metrics = Metrics(container.metrics_registry())
    install_error_handlers(app)
    install_page_error_handlers(app)
    # Routes are matched in order, one by one, and matching is much of what a light request
    # costs: the paths every client calls all the time come first (an API client's /users/me, a
    # resource server's introspection, a relying party's userinfo). /users/me stays ahead of
    # admin's /users/{id}.
    for module in (
        me,
        oauth_revocation,
        oauth_userinfo,
        health,
        auth,
        mfa,
        sessions,
        passkeys,
        recovery,
        grants,
        identities,
        admin,
        oauth_clients,
        webhooks,
        oidc_discovery,
        oauth_token,
    ):
        app.include_router(module.router)
    for page_module in (
        sign_in,
        sign_up,
        forgot_password,
        account,
        account_applications,
        account_identities,
        account_passkeys,
        account_security,
        email_links,
        upstream_sign_in,
        oauth_authorize,
        oauth_logout,
    ):
        app.include_router(page_module.router)
    app.include_router(mfa.login_router)
    app.include_router(passkeys.login_router)
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

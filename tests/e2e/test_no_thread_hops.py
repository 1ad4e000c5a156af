"""FastAPI runs a plain `def` dependency in a worker thread: a hand-off to another thread and
back for every request, which costs more than what the dependency
does. Every dependency of every route is therefore `async def`."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from entrypoints.http.metrics import router as metrics_router
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

ROUTERS = [
    auth,
    recovery,
    me,
    sessions,
    admin,
    health,
    mfa,
    passkeys,
    oauth_clients,
    oidc_discovery,
    grants,
    identities,
    email_links,
    sign_in,
    sign_up,
    forgot_password,
    account,
    account_applications,
    account_identities,
    account_passkeys,
    account_security,
    upstream_sign_in,
    oauth_authorize,
    oauth_logout,
    oauth_revocation,
    oauth_token,
    oauth_userinfo,
    webhooks,
]


def dependencies(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from dependencies(sub)


def api_routes() -> list[APIRoute]:
    routes = [route for module in ROUTERS for route in module.router.routes]
    routes += metrics_router.routes + mfa.login_router.routes + passkeys.login_router.routes
    return [route for route in routes if isinstance(route, APIRoute)]


def test_the_routers_are_all_found() -> None:
    paths = {route.path for route in api_routes()}
    assert {
        "/api/v1/users/me",
        "/api/v1/auth/login",
        "/api/v1/auth/mfa",
        "/api/v1/auth/passkey/login",
        "/healthz",
        "/metrics",
    } <= paths


def is_async(call: object) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 (a class instance: OAuth2PasswordBearer)
    )


def test_no_route_has_a_dependency_that_runs_in_a_worker_thread() -> None:
    sync = sorted(
        f"{sorted(route.methods or ())} {route.path}: {getattr(call, '__qualname__', call)}"
        for route in api_routes()
        for call in dependencies(route.dependant)
        if not is_async(call)
    )
    assert sync == []


def test_no_endpoint_runs_in_a_worker_thread() -> None:
    sync = [route.path for route in api_routes() if not is_async(route.endpoint)]
    assert sync == []

"""FastAPI dependencies: use cases from the app's own container, and the caller's identity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from dependency_injector import providers
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from application.caller import Caller
from application.use_cases.authenticate import Principal
from entrypoints.container import Container
from entrypoints.http.errors import NotAuthenticated

T = TypeVar("T")

MAX_USER_AGENT_LENGTH = 512

# Reads the Authorization header only (never the query string), and gives /docs its
# Authorize button backed by the form endpoint.
bearer_token = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def provided(select: Callable[[Container], providers.Provider[T]]) -> Any:
    """A dependency resolving a provider of the container that this app was built with.

    The container lives on app.state rather than being wired into modules, so two apps (two
    tests, two configurations) in one process never share or overwrite each other's wiring."""

    def dependency(request: Request) -> T:
        return select(request.app.state.container)()

    return Depends(dependency)


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(bearer_token)]
) -> Principal:
    if not token:
        raise NotAuthenticated()
    container: Container = request.app.state.container
    return await container.authenticate().execute(token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def user_agent_of(request: Request) -> str | None:
    agent = request.headers.get("user-agent")
    return agent[:MAX_USER_AGENT_LENGTH] if agent else None


def caller_of(request: Request) -> Caller:
    return Caller(ip=client_ip_of(request), user_agent=user_agent_of(request))


CallerInfo = Annotated[Caller, Depends(caller_of)]


def client_ip_of(request: Request) -> str | None:
    # uvicorn has already replaced the peer with X-Forwarded-For when (and only when) the peer
    # is one of PORTCULLIS_TRUSTED_PROXIES: see entrypoints.cli.
    return request.client.host if request.client else None

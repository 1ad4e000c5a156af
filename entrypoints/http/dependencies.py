"""FastAPI dependencies: use cases from the app's own container, the caller's identity, and the
per-client-IP throttle.

Each is declared as a parameter's default, typed as what the route receives, so mypy checks
the wiring: `update_profile: UpdateProfile = use_case(lambda c: c.change_password)` is an
incompatible default. Every dependency is `async def`: FastAPI runs a plain `def` one in a
worker thread, a hand-off per request for what is a dictionary lookup."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from dependency_injector import providers
from fastapi import Depends, Request, params
from fastapi.security import OAuth2PasswordBearer

from application.caller import Caller, Principal
from application.errors import TooManyRequests
from application.ports.metrics import LoginOutcome
from application.ports.rate_limit import RateLimiter
from application.use_cases.authenticate import AuthenticateCommand
from entrypoints.container import Container
from entrypoints.http.errors import NotAuthenticated

T = TypeVar("T")

MAX_USER_AGENT_LENGTH = 512


def depends_on(call: Callable[..., Awaitable[T]]) -> T:
    """`Depends(call)`, typed as the value the route receives from it."""
    # Depends() is a marker that FastAPI replaces with call's result before the route runs, so
    # the parameter only ever holds a T. The one place that tells mypy so.
    return cast(T, Depends(call))


def container_of(request: Request) -> Container:
    """The container this app was built with. It lives on app.state rather than being wired
    into modules, so two apps in one process (two tests, two configurations) never share or
    overwrite each other's wiring."""
    container: Container = request.app.state.container
    return container


def use_case(select: Callable[[Container], providers.Provider[T]]) -> T:
    """The use case the app's container provides, as a route parameter's default:
    `log_in: LogIn = use_case(lambda c: c.log_in)`."""

    async def provide(request: Request) -> T:
        return select(container_of(request))()

    return depends_on(provide)


class BearerPrincipal(OAuth2PasswordBearer):
    """The caller, from the bearer token of the Authorization header (never the query string).

    Being the security scheme itself, rather than a dependency on one, keeps FastAPI's work
    per request to one dependency (a nested one cost more than checking the token), while /docs
    still gets its Authorize button backed by the form endpoint."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        token = await super().__call__(request)
        if not token:
            raise NotAuthenticated()
        command = AuthenticateCommand(access_token=token)
        return await container_of(request).authenticate().execute(command)


_BEARER = BearerPrincipal(
    tokenUrl="/api/v1/auth/token", scheme_name="OAuth2PasswordBearer", auto_error=False
)


def authenticated() -> Principal:
    """Who is signed in, from the bearer token: `principal: Principal = authenticated()`."""
    return depends_on(_BEARER)


def user_agent_of(request: Request) -> str | None:
    agent = request.headers.get("user-agent")
    return agent[:MAX_USER_AGENT_LENGTH] if agent else None


async def _caller(request: Request) -> Caller:
    return Caller(ip=client_ip_of(request), user_agent=user_agent_of(request))


def request_caller() -> Caller:
    """Where the request came from, for the audit trail: `caller: Caller = request_caller()`."""
    return depends_on(_caller)


def client_ip_of(request: Request) -> str | None:
    # uvicorn has already replaced the peer with X-Forwarded-For when (and only when) the peer
    # is one of PORTCULLIS_TRUSTED_PROXIES: see entrypoints.cli.
    return request.client.host if request.client else None


# One IPv6 client commonly holds a whole /64 (and can pick any address in it at will): counting
# per address there would let it walk around the limit, so an IPv6 client is its /64.
IPV6_CLIENT_PREFIX = 64


def rate_limit_subject(ip: str | None) -> str:
    """Whom a request is counted against: its IPv4 address, or its IPv6 /64."""
    if ip is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip  # not an IP (a test client's name, say): count it as given
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)


def rate_limited(scope: str, *, login: bool = False) -> params.Depends:
    """A route dependency that spends one token of this client's bucket for `scope` (one scope
    per endpoint, so each has its own budget), or refuses with TooManyRequests (429). On a
    `login` endpoint the refusal is the end of a login attempt, counted as throttled: the use
    case never runs to count it."""

    async def spend(request: Request) -> None:
        container = container_of(request)
        limiter: RateLimiter | None = container.rate_limiter()
        if limiter is None:  # PORTCULLIS_RATE_LIMIT_PER_MINUTE=0
            return
        decision = await limiter.hit(f"{scope}:{rate_limit_subject(client_ip_of(request))}")
        if not decision.allowed:
            if login:
                container.security_metrics().login(LoginOutcome.THROTTLED)
            raise TooManyRequests(decision.retry_after_seconds)

    return params.Depends(spend)

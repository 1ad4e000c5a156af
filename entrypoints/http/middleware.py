"""Pure ASGI middleware (no BaseHTTPMiddleware): request ids, headers, access log, body limit."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
from collections.abc import Iterable

import structlog
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.http.errors import PayloadTooLarge
from entrypoints.http.metrics import Metrics
from entrypoints.http.problems import (
    PROBLEM_MEDIA_TYPE,
    problem_body,
    problem_response,
    request_id_var,
)

log = structlog.get_logger("portcullis.http")
_request_lines = logging.getLogger("portcullis.http")

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")
# Added to every response that does not set them itself (raw pairs, as ASGI sends them).
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _send_problem(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps(problem_body(status, code, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Outermost: gives every request an id, security headers, one log line and its metrics,
    and turns any unexpected exception into a bare 500 problem (the traceback goes to the log
    only)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # A request id must be unique, not secret: a random prefix per process (each worker
        # builds its own app) and a counter. uuid4 would ask the kernel for randomness on every
        # request, letting go of the GIL each time.
        self._id_prefix = os.urandom(8).hex()
        self._id_counter = itertools.count()

    def _new_id(self) -> str:
        return f"{self._id_prefix}{next(self._id_counter):016x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SANE_REQUEST_ID.match(incoming) else self._new_id()
        request_id_var.set(request_id)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        is_api = scope["path"].startswith("/api/")
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = _with_our_headers(
                    message.get("headers", ()), request_id, is_api
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled_error", method=scope["method"], route=_route_of(scope, 500))
            if not response_started:
                await _send_problem(
                    send_with_headers, 500, "internal_error", "something went wrong on our side"
                )
        finally:
            seconds = time.perf_counter() - started
            route = _route_of(scope, status)
            self.metrics.observe(route, scope["method"], status, seconds)
            if _request_lines.isEnabledFor(logging.INFO):  # cheaper than a dropped line
                log.info(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                    client_ip=scope["client"][0] if scope.get("client") else None,
                )


def _with_our_headers(
    headers: Iterable[tuple[bytes, bytes]], request_id: str, is_api: bool
) -> list[tuple[bytes, bytes]]:
    """The response's headers with the request id (ours replaces any other) and the security
    headers the response did not set itself. On raw header pairs: Starlette's MutableHeaders
    would scan the list once per header."""
    kept = [(name, value) for name, value in headers if name.lower() != b"x-request-id"]
    present = {name.lower() for name, _ in kept}
    added = [(name, value) for name, value in SECURITY_HEADERS if name not in present]
    if is_api and b"cache-control" not in present:
        # Tokens and personal data: never stored by a browser or a proxy.
        added.append((b"cache-control", b"no-store"))
    return [*kept, (b"x-request-id", request_id.encode("latin-1")), *added]


def _route_of(scope: Scope, status: int) -> str:
    # The template (/api/v1/users/{id}) rather than the path, and never the query string, which
    # is where a reset or verification link carries its token.
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    # A few framework routes (the OpenAPI document, static files) leave no route in the scope;
    # their paths hold nothing secret. Unknown paths are not logged: anyone can invent them.
    return "<unmatched>" if status == 404 else str(scope["path"])


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit while reading them, so a big body is never held whole —
    chunked bodies without Content-Length included."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            if declared.isdigit():
                await _send_problem(send, 413, "payload_too_large", "the request body is too large")
            else:
                await _send_problem(send, 400, "bad_request", "the Content-Length is not a number")
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise PayloadTooLarge()
            return message

        await self.app(scope, limited_receive, send)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, except that a refused preflight is a problem document like every
    other error (Starlette answers it in plain text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers.pop("content-type", None)
        return problem_response(
            response.status_code,
            "bad_request",
            "this origin, method or header is not allowed here",
            headers=headers,
        )

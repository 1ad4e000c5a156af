"""A real upstream OpenID provider for the tests (oidc-provider-mock, in a thread), a way to
choose a user on its authorization page, and a small HTTP proxy in front of it that can answer
some paths itself: a provider whose keys or discovery document are not what its tokens need.

The mock names itself after the Host header it is asked with: behind the proxy, with the host
kept, its issuer is the proxy's address."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
from oidc_provider_mock import run_server_in_thread

# Headers a proxy does not pass on: they describe one connection, not the message.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "date", "server"}
)


@contextmanager
def oidc_provider() -> Iterator[str]:
    """A provider of its own (its own signing key, users and codes); yields its issuer."""
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def put_user(issuer: str, subject: str, claims: Mapping[str, object]) -> None:
    """The claims the provider tells about `subject` from now on."""
    response = httpx.put(f"{issuer}/users/{subject}", json=dict(claims))
    assert response.status_code == httpx.codes.NO_CONTENT, response.text


async def choose_user(authorization_url: str, subject: str) -> dict[str, str]:
    """Do what a person does on the provider's page (choose who signs in) and return the
    parameters of the redirect back: `code` and `state`."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(authorization_url)
        assert page.status_code == httpx.codes.OK, page.text
        answer = await browser.post(authorization_url, data={"sub": subject})
    assert answer.status_code == httpx.codes.FOUND, answer.text
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    return {name: values[0] for name, values in query.items()}


@dataclass
class Proxy:
    """Forwards every request to `upstream`, except the paths in `answers`, which it answers
    itself. `keep_host` passes the client's Host header on (the mock then names the proxy as
    its issuer); without it, the upstream sees its own address. `paths` lists what was asked.
    `upstream` may be changed while it runs: with the host kept, another provider then answers
    at the same address, as a provider does that has rotated its keys."""

    upstream: str
    answers: dict[str, bytes] = field(default_factory=dict)
    keep_host: bool = True
    paths: list[str] = field(default_factory=list)
    url: str = ""


@contextmanager
def proxy(
    upstream: str, *, answers: Mapping[str, bytes] | None = None, keep_host: bool = True
) -> Iterator[Proxy]:
    state = Proxy(upstream=upstream, answers=dict(answers or {}), keep_host=keep_host)
    upstream_client = httpx.Client(follow_redirects=False)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._forward()

        def do_POST(self) -> None:
            self._forward()

        def do_PUT(self) -> None:
            self._forward()

        def _forward(self) -> None:
            path = urlsplit(self.path).path
            state.paths.append(path)
            if path in state.answers:
                self._send(200, {"content-type": "application/json"}, state.answers[path])
                return
            length = int(self.headers.get("content-length") or 0)
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in _HOP_BY_HOP
            }
            if state.keep_host:
                headers["host"] = self.headers["host"]
            try:
                response = upstream_client.request(
                    self.command,
                    state.upstream + self.path,
                    headers=headers,
                    content=self.rfile.read(length) if length else None,
                )
            except httpx.HTTPError:
                self._send(502, {"content-type": "text/plain"}, b"upstream unreachable")
                return
            self._send(response.status_code, response.headers, response.content)

        def _send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test's output is no place for an access log

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://localhost:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        upstream_client.close()

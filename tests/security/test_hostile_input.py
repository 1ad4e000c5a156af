"""Hostile input in every body field and query parameter of the public endpoints (contract §2).
One test per kind of attack; each sends it through every field in turn, the
other fields holding plausible values, and checks the answer:

- never a 5xx;
- an error is `application/problem+json` with a `code`, and does not echo what was sent;
- a success only where the field takes free text (a password, a name, a search) — and then the
  text is taken literally: a name comes back exactly as sent, a search matches only rows that
  contain the text.

The body-size limit and the media type of the body close the file."""

from __future__ import annotations

import itertools
import json
import urllib.parse
from collections.abc import AsyncIterator, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest
from fastapi import FastAPI

from application.use_cases.admin.create_or_promote_admin import CreateOrPromoteAdminCommand
from tests.e2e.conftest import PASSWORD, LogIn, SignUp, bearer

ADMIN_EMAIL = "root@example.com"
USER_EMAIL = "ada@example.com"
SENTINEL = "__hostile_value__"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Hundreds of failed logins for one account and one IP are the point here: the throttles
    # (per account now, per IP when it lands; settings ignore names they do not know) must not
    # answer before the input is looked at: a 429 would prove nothing, so it fails the test.
    return {"login_max_failures": 1_000_000, "rate_limit_per_minute": 1_000_000}


@dataclass(frozen=True)
class RawBytes:
    """Bytes that go into the body as they are, inside a JSON string: invalid UTF-8."""

    data: bytes


@dataclass(frozen=True)
class RawJson:
    """JSON text that goes into the body as it is, in place of the field's value."""

    text: str


Value = Any  # a JSON value (a str may hold lone surrogates), RawBytes or RawJson

_emails = itertools.count()


def fresh_email() -> str:
    return f"user{next(_emails)}@example.com"


@dataclass(frozen=True)
class Target:
    method: str
    path: str
    name: str
    kind: Literal["json", "form", "query"]
    baseline: Callable[[], dict[str, Any]]
    auth: Literal["none", "user", "admin"] = "none"
    # A field of free text (a password, a name, a search): any string may be a fine answer.
    free_text: bool = False
    nullable: bool = False  # null is a fine answer too (no name)

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.name}"


def _login() -> dict[str, Any]:
    return {"email": USER_EMAIL, "password": PASSWORD}


def _form() -> dict[str, Any]:
    return {"username": USER_EMAIL, "password": PASSWORD, "grant_type": "password"}


def _signup() -> dict[str, Any]:
    return {"email": fresh_email(), "password": PASSWORD, "name": "Ada"}


def _token() -> dict[str, Any]:
    return {"token": "x" * 43, "new_password": "a brand new passphrase"}


FIELDS: list[Target] = [
    *(
        Target(
            "POST",
            "/api/v1/auth/signup",
            name,
            "json",
            _signup,
            free_text=name != "email",
            nullable=name == "name",
        )
        for name in ("email", "password", "name")
    ),
    Target("POST", "/api/v1/auth/login", "email", "json", _login),
    Target("POST", "/api/v1/auth/login", "password", "json", _login),
    *(
        Target(
            "POST",
            "/api/v1/auth/token",
            name,
            "form",
            _form,
            free_text=name in ("scope", "client_id", "client_secret"),
        )
        for name in ("username", "password", "grant_type", "scope", "client_id", "client_secret")
    ),
    Target("POST", "/api/v1/auth/refresh", "refresh_token", "json", lambda: {"refresh_token": "x"}),
    Target("POST", "/api/v1/auth/password/forgot", "email", "json", lambda: {"email": USER_EMAIL}),
    Target("POST", "/api/v1/auth/password/reset", "token", "json", _token),
    Target("POST", "/api/v1/auth/password/reset", "new_password", "json", _token),
    Target("POST", "/api/v1/auth/verify-email", "token", "json", lambda: {"token": "x" * 43}),
    Target(
        "PATCH", "/api/v1/users/me", "name", "json", dict, "user", free_text=True, nullable=True
    ),
    Target("PATCH", "/api/v1/users/me", "email", "json", dict, "user"),
    Target("GET", "/api/v1/users", "q", "query", dict, "admin", free_text=True),
    *(
        Target("GET", "/api/v1/users", name, "query", lambda: {"limit": "10"}, "admin")
        for name in ("role", "is_active", "limit", "cursor")
    ),
]


def _json_value(value: Value) -> bytes:
    if isinstance(value, RawBytes):
        return b'"' + value.data + b'"'
    if isinstance(value, RawJson):
        return value.text.encode()
    try:
        return json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # lone surrogates: only the \ud800 escape can carry them
        return json.dumps(value).encode()


def _text_value(value: Value) -> str:
    """The value as a percent-encoded form or query value."""
    if isinstance(value, RawBytes):
        return urllib.parse.quote_from_bytes(value.data, safe="")
    if isinstance(value, RawJson):
        return urllib.parse.quote(value.text, safe="")
    if not isinstance(value, str):
        value = json.dumps(value)
    return urllib.parse.quote_from_bytes(value.encode("utf-8", "surrogatepass"), safe="")


def build_request(target: Target, value: Value) -> tuple[str, bytes | None, dict[str, str]]:
    """(url, body, headers) with the hostile value in the target field."""
    values = {**target.baseline(), target.name: SENTINEL}
    if target.kind == "json":
        body = json.dumps(values).encode().replace(f'"{SENTINEL}"'.encode(), _json_value(value))
        return target.path, body, {"content-type": "application/json"}
    encoded = "&".join(
        f"{name}={_text_value(value) if item == SENTINEL else urllib.parse.quote(item)}"
        for name, item in values.items()
    )
    if target.kind == "form":
        return target.path, encoded.encode(), {"content-type": "application/x-www-form-urlencoded"}
    return f"{target.path}?{encoded}", None, {}


def fingerprints(value: Value) -> list[str]:
    """What would show that the answer echoed the value back."""
    if isinstance(value, RawJson):
        return [value.text[:40]] if len(value.text) >= 8 else []
    if not isinstance(value, str) or len(value) < 6:
        return []
    prints = {value[:64], json.dumps(value[:64])[1:-1]}
    return [text for text in prints if len(text) >= 6]


@dataclass
class Attacker:
    client: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    failures: list[str] = field(default_factory=list)

    async def send(self, target: Target, value: Value) -> None:
        url, body, headers = build_request(target, value)
        response = await self.client.request(
            target.method, url, content=body, headers={**headers, **self.headers[target.auth]}
        )
        problem = self._problem_with(target, value, response)
        if problem:
            self.failures.append(f"{target} <- {value!r:.60}: {problem}")

    @staticmethod
    def _problem_with(target: Target, value: Value, response: httpx.Response) -> str | None:
        status = response.status_code
        if status >= 500:
            return f"{status} {response.text[:200]}"
        if status == 429:
            return (
                "throttled before the input was looked at: raise the limits in settings_overrides"
            )
        for text in fingerprints(value):
            if text in response.text and not (status < 300 and target.free_text):
                return f"{status} echoes the input"
        if status < 300:
            if not _may_accept(target, value):
                return f"{status}: accepted"
            return _taken_literally(target, value, response.json())
        if not 400 <= status < 500:
            return f"unexpected {status}"
        if response.headers.get("content-type") != "application/problem+json":
            return f"{status} is not a problem: {response.headers.get('content-type')}"
        body = response.json()
        if not body.get("code"):
            return f"{status} problem without a code"
        if any("input" in error for error in body.get("errors", [])):
            return f"{status} problem lists the input"
        return None

    def assert_clean(self) -> None:
        assert not self.failures, "\n".join(self.failures)

    async def attack(self, values: list[Value], fields: list[Target] = FIELDS) -> None:
        for target in fields:
            for value in values:
                await self.send(target, value)
        self.assert_clean()


def _may_accept(target: Target, value: Value) -> bool:
    if value is None:
        return target.nullable
    if target.kind != "json":
        # A form or a query holds only text, decoded leniently (bad UTF-8 becomes U+FFFD).
        return target.free_text
    return target.free_text and isinstance(value, str)


def _taken_literally(target: Target, value: Value, body: Any) -> str | None:
    if not isinstance(value, str):
        return None  # text decoded from bad bytes, or the JSON of a value, in a form or query
    if target.name == "name" and body["name"] != value:
        return f"name stored as {body['name']!r:.60}"
    if target.name == "q":
        needle = value.lower()
        strays = [
            user["email"]
            for user in body["items"]
            if needle not in user["email"] and needle not in (user["name"] or "").lower()
        ]
        if strays:
            return f"the search matched {strays} that do not contain it"
    return None


@pytest.fixture
async def attacker(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> Attacker:
    await sign_up(USER_EMAIL, name="Ada")
    await sign_up(ADMIN_EMAIL)
    await app.state.container.create_or_promote_admin().execute(
        CreateOrPromoteAdminCommand(email=ADMIN_EMAIL)
    )
    user = bearer(await log_in(USER_EMAIL))
    admin = bearer(await log_in(ADMIN_EMAIL))
    return Attacker(client, {"none": {}, "user": user, "admin": admin})


async def test_nul_bytes(attacker: Attacker) -> None:
    await attacker.attack(["\x00", "ada\x00@example.com", "correct horse\x00battery staple"])


async def test_lone_surrogates(attacker: Attacker) -> None:
    # JSON may spell a lone surrogate (\ud800); it is no character, and not valid in UTF-8.
    await attacker.attack(["\ud800@x.com", "\udfff", "correct horse\udc00battery staple"])


async def test_invalid_utf8_bytes(attacker: Attacker) -> None:
    await attacker.attack(
        [RawBytes(b"\xff\xfe@x.com"), RawBytes(b"ada\xc3@example.com"), RawBytes(b"\xed\xa0\x80")]
    )


async def test_rtl_override_marks(attacker: Attacker) -> None:
    await attacker.attack(
        ["moc.elpmaxe\u202e@ada", "ada\u202e@example.com", "\u202eAda\u202c", "\u2067Ada\u2069"]
    )


async def test_ten_thousand_characters(attacker: Attacker) -> None:
    await attacker.attack(["a" * 10_000 + "@example.com", "a" * 10_000, "é" * 10_000])


async def test_sql_looking_text(attacker: Attacker) -> None:
    await attacker.attack(
        [
            "' OR 1=1 --",
            '"; DROP TABLE users; --',
            "ada@example.com' --",
            "x' UNION SELECT password_hash FROM users --",
            "%_%",
        ]
    )
    # The tables are all still there, and the accounts still work.
    for email in (USER_EMAIL, ADMIN_EMAIL):
        response = await attacker.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text


async def test_json_of_the_wrong_type(attacker: Attacker) -> None:
    json_fields = [target for target in FIELDS if target.kind == "json"]
    await attacker.attack(
        [[], ["ada@example.com"], {}, {"$ne": None}, 0, -1, 1.5, True, None], json_fields
    )
    # A form or a query has only text: what reaches a typed parameter is text of another type.
    other_fields = [target for target in FIELDS if target.kind != "json"]
    await attacker.attack(["[]", '{"$ne": null}', "null", "1.5", "-1", "yes please"], other_fields)


async def test_deeply_nested_json(attacker: Attacker) -> None:
    depth = 10_000
    await attacker.attack([RawJson("[" * depth), RawJson("[" * depth + "]" * depth)])
    # And as the whole body.
    for body in ("[" * depth, "[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        response = await attacker.client.post(
            "/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"]


async def test_huge_numbers(attacker: Attacker) -> None:
    await attacker.attack(
        [
            RawJson("9" * 5_000),  # past Python's 4300-digit limit for int()
            RawJson("9" * 4_000),
            RawJson("1e400"),  # a float that overflows to infinity
            RawJson("-1e400"),
            RawJson("NaN"),
            RawJson("Infinity"),
            2**64,
            -(2**63) - 1,
        ]
    )


# The body itself --------------------------------------------------------------------------


async def _chunks(start: bytes, size: int) -> AsyncIterator[bytes]:
    yield start
    for _ in range(size // 1024):
        yield b"a" * 1024


async def test_chunked_body_over_the_limit_without_content_length(
    client: httpx.AsyncClient,
) -> None:
    for path, content_type, start in [
        ("/api/v1/auth/signup", "application/json", b'{"email": "'),
        ("/api/v1/auth/login", "application/json", b'{"email": "'),
        ("/api/v1/auth/token", "application/x-www-form-urlencoded", b"username="),
    ]:
        response = await client.post(
            path, content=_chunks(start, 200_000), headers={"content-type": content_type}
        )
        assert "content-length" not in response.request.headers
        assert response.status_code == 413, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "payload_too_large"


async def test_content_length_over_the_limit_is_refused_without_reading(app: FastAPI) -> None:
    """Straight at the ASGI app, to see whether the body is ever asked for."""
    read = False
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read = True
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/auth/signup",
        "raw_path": b"/api/v1/auth/signup",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"portcullis.test"),
            (b"content-type", b"application/json"),
            (b"content-length", b"10000000000"),
        ],
        "client": ("203.0.113.7", 40000),
        "server": ("portcullis.test", 80),
        "state": {},
    }

    await app(scope, receive, send)

    assert not read
    start = next(message for message in sent if message["type"] == "http.response.start")
    assert start["status"] == 413
    body = b"".join(message.get("body", b"") for message in sent[1:])
    assert json.loads(body)["code"] == "payload_too_large"


async def test_json_sent_as_text_plain(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/auth/password/forgot"):
        response = await client.post(
            path,
            content=json.dumps({"email": USER_EMAIL, "password": PASSWORD}),
            headers={"content-type": "text/plain"},
        )
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"]
        assert PASSWORD not in response.text

"""The README's walk-through, run exactly as written against a real server (only the port
differs, so a developer's own `make run` on :8000 does not get in the way)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.e2e.conftest import PASSWORD
from tests.e2e.processes import PORTCULLIS, free_port, portcullis_env, serving
from tests.e2e.test_authorize import PAGE, at_callback, consent_form, decide
from tests.e2e.test_browser_session import page_login

README = Path(__file__).resolve().parents[2] / "README.md"


def _walkthrough(name: str = "walkthrough", language: str = "sh") -> str:
    text = README.read_text()
    block = re.search(rf"<!-- {name}:start -->\n```{language}\n(.*?)```", text, re.DOTALL)
    assert block, f"README.md has lost its {name} block"
    return block.group(1)


def _json_values(output: str) -> list[Any]:
    """The JSON documents curl printed back to back (and the bare status code -w printed)."""
    decoder = json.JSONDecoder()
    values, position = [], 0
    while (position := _skip_space(output, position)) < len(output):
        value, position = decoder.raw_decode(output, position)
        values.append(value)
    return values


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def test_the_readme_walkthrough_works_as_written(tmp_path: Path) -> None:
    script = _walkthrough()
    assert "http://127.0.0.1:8000" in script
    with serving(tmp_path) as server:
        result = subprocess.run(
            [
                "bash",
                "-euo",
                "pipefail",
                "-c",
                script.replace("http://127.0.0.1:8000", server.base_url),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    signed_up, me, patched, sessions, logout_status, after_logout = _json_values(result.stdout)
    assert signed_up["email"] == "ada@example.com"
    assert me["id"] == signed_up["id"]
    assert patched["name"] == "Ada Lovelace"
    assert [session["current"] for session in sessions] == [True, False]
    assert logout_status == 204
    assert after_logout["code"] == "invalid_token"

    # The server's log: one JSON line per request, with its id, and no secret in any line.
    log_text = server.log_path.read_text()
    requests = [
        entry
        for entry in (json.loads(line) for line in log_text.splitlines() if line.startswith("{"))
        if entry.get("event") == "request"
    ]
    routes = [(entry["method"], entry["route"], entry["status"]) for entry in requests]
    assert ("POST", "/api/v1/auth/signup", 201) in routes
    assert ("PATCH", "/api/v1/users/me", 200) in routes
    for entry in requests:
        assert {"request_id", "method", "route", "status", "duration_ms", "timestamp"} <= set(entry)
    assert "correct horse" not in log_text
    assert "$2b$" not in log_text
    assert "eyJ" not in log_text  # no JWT


def test_the_readme_totp_walkthrough_works_as_written(tmp_path: Path) -> None:
    """Run from a scratch folder (it writes totp.svg), with the checkout's own venv."""
    script = _walkthrough("totp-walkthrough")
    assert ".venv/bin/python" in script
    venv_python = str(README.parent / ".venv" / "bin" / "python")
    with serving(tmp_path) as server:
        result = subprocess.run(
            [
                "bash",
                "-euo",
                "pipefail",
                "-c",
                script.replace("http://127.0.0.1:8000", server.base_url).replace(
                    ".venv/bin/python", venv_python
                ),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stderr
    confirmed, pair = _json_values(result.stdout)
    assert len(confirmed["recovery_codes"]) == 10
    claims = json.loads(_base64url_decode(pair["access_token"].split(".")[1]))
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert (tmp_path / "totp.svg").read_text().startswith("<svg")


def _base64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


async def test_the_readme_relying_party_signs_ada_in_as_written(tmp_path: Path) -> None:
    """The client registered by the README's command, the README's script run as its own
    process, and a person's part (the sign-in and consent pages) played by an HTTP client.
    The public URL is localhost on the test's port, as it is localhost:8000 for `make run`."""
    register = _walkthrough("rp-register")
    example = _walkthrough("rp-example", language="python")
    assert ".venv/bin/portcullis" in register
    assert 'ISSUER = "http://localhost:8000"' in example
    callback = "http://localhost:8080/callback"
    assert callback in register
    assert callback in example
    port = free_port()
    public_url = f"http://localhost:{port}"
    (tmp_path / "rp.py").write_text(example.replace("http://localhost:8000", public_url))

    with serving(tmp_path, {"PORTCULLIS_PUBLIC_URL": public_url}, port=port):
        registered = await _run(
            [
                "bash",
                "-euo",
                "pipefail",
                "-c",
                register.replace(".venv/bin/portcullis", PORTCULLIS),
            ],
            cwd=tmp_path,
            env=portcullis_env(tmp_path, PORTCULLIS_PUBLIC_URL=public_url),
        )
        client = json.loads(registered)
        async with httpx.AsyncClient(base_url=public_url, timeout=30) as browser:
            signed_up = await browser.post(
                "/api/v1/auth/signup",
                json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada"},
            )
            assert signed_up.status_code == 201, signed_up.text
            ada = signed_up.json()
            output = await _run(
                [sys.executable, "rp.py"],
                cwd=tmp_path,
                env={
                    **os.environ,
                    "CLIENT_ID": client["client_id"],
                    "CLIENT_SECRET": client["client_secret"],
                },
                person=lambda printed: _person_signs_in_and_allows(browser, printed, callback),
            )

    claims = json.loads(_printed(output, "ID token"))
    assert claims["iss"] == public_url
    assert claims["aud"] == client["client_id"]
    assert claims["sub"] == ada["id"]
    assert claims["amr"] == ["pwd"]
    assert claims["email"] == "ada@example.com"
    userinfo = json.loads(_printed(output, "userinfo"))
    assert userinfo == {
        "sub": ada["id"],
        "name": "Ada",
        "updated_at": claims["updated_at"],
        "email": "ada@example.com",
        "email_verified": False,
    }


async def _run(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    person: Callable[[asyncio.StreamReader], Awaitable[str]] | None = None,
) -> str:
    """The command's output, once it exits 0. With `person`: what it answers, from what the
    command printed so far, is typed in as one line."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        typed = b""
        if person is not None:
            assert process.stdout is not None
            typed = f"{await person(process.stdout)}\n".encode()
        output, errors = await asyncio.wait_for(process.communicate(typed), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, errors.decode()
    return output.decode()


def _printed(output: str, label: str) -> str:
    found = re.search(rf"^(?:.*: )?{label}: (.*)$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


async def _person_signs_in_and_allows(
    browser: httpx.AsyncClient, printed: asyncio.StreamReader, callback: str
) -> str:
    """What a person does with the address the script prints: open it, sign in on the page it
    leads to, allow on the consent page. Returns the address the browser is sent to."""
    first = await asyncio.wait_for(printed.readline(), timeout=60)
    assert first.startswith(b"Open this address"), first
    url = (await asyncio.wait_for(printed.readline(), timeout=10)).decode().strip()

    opened = await browser.get(url, headers=PAGE)
    assert opened.status_code == 303, opened.text
    login = urlsplit(opened.headers["location"])
    assert login.path == "/login"
    authorization_request = parse_qs(login.query)["return_to"][0]
    signed_in = await page_login(browser, return_to=authorization_request)
    assert signed_in.status_code == 200, signed_in.text
    fields = await consent_form(browser, authorization_request)
    allowed = await decide(browser, fields, "allow")
    assert "code" in at_callback(allowed, callback)
    location: str = allowed.headers["location"]
    return location

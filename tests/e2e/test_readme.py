"""The README's walk-through, run exactly as written against a real server (only the port
differs, so a developer's own `make run` on :8000 does not get in the way)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.processes import serving

README = Path(__file__).resolve().parents[2] / "README.md"


def _walkthrough(name: str = "walkthrough") -> str:
    text = README.read_text()
    block = re.search(rf"<!-- {name}:start -->\n```sh\n(.*?)```", text, re.DOTALL)
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

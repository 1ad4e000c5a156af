"""The `portcullis` command, run as a user runs it."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.processes import run_portcullis, serving


def test_migrate_creates_the_database_and_is_idempotent(tmp_path: Path) -> None:
    first = run_portcullis(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "var" / "portcullis.db").exists()
    again = run_portcullis(tmp_path, "migrate")
    assert again.returncode == 0, again.stderr


def test_a_bad_setting_stops_with_one_line_naming_the_variable(tmp_path: Path) -> None:
    for variable, value in [
        ("PORTCULLIS_BCRYPT_ROUNDS", "lots"),
        ("PORTCULLIS_JWT_ALGORITHM", "HS256"),
        ("PORTCULLIS_ACCESS_TOKEN_TTL_SECONDS", "-5"),
        ("PORTCULLIS_MAX_BODY_BYTES", "-1"),
    ]:
        result = run_portcullis(tmp_path, "serve", **{variable: value})
        assert result.returncode == 2, variable
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert variable in lines[0]
        assert value not in lines[0].replace(variable, "")
        assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_line_and_a_failure_code(tmp_path: Path) -> None:
    result = run_portcullis(
        tmp_path,
        "keys",
        "list",
        PORTCULLIS_DATABASE_URL="postgresql+asyncpg://portcullis:s3cret@127.0.0.1:1/none",
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "portcullis: the database is unavailable"


def test_serve_with_two_workers_answers_and_keys_list_shows_the_signing_key(
    tmp_path: Path,
) -> None:
    with serving(tmp_path, workers=2) as server:
        jwks = httpx.get(f"{server.base_url}/.well-known/jwks.json", timeout=5).json()
        assert jwks["keys"]

    listing = run_portcullis(tmp_path, "keys", "list")
    assert listing.returncode == 0, listing.stderr
    rows = listing.stdout.strip().splitlines()
    assert rows[0].split() == ["KID", "ALGORITHM", "STATE", "CREATED", "RETIRED"]
    assert len(rows) >= 2
    assert all(" ES256 " in row and " active " in row for row in rows[1:])
    published = {key["kid"] for key in jwks["keys"]}
    listed = {row.split()[0] for row in rows[1:]}
    assert published == listed

"""The `portcullis` command, run as a user runs it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path

import httpx

from tests.e2e.processes import PORTCULLIS, portcullis_env, run_portcullis, serving


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
        ("PORTCULLIS_DATABASE_POOL_SIZE", "-3"),
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
    # One active key per algorithm, made before the workers started: none made twice.
    assert sorted(row.split()[1] for row in rows[1:]) == ["ES256", "EdDSA", "RS256"]
    assert all(" active " in row for row in rows[1:])
    published = {key["kid"] for key in jwks["keys"]}
    listed = {row.split()[0] for row in rows[1:]}
    assert published == listed


def test_keys_rotate_replaces_every_algorithms_key_and_retires_the_old_ones(
    tmp_path: Path,
) -> None:
    with serving(tmp_path):
        pass  # the first start made the first keys
    first = {
        row.split()[0] for row in run_portcullis(tmp_path, "keys", "list").stdout.splitlines()[1:]
    }
    rotated = run_portcullis(tmp_path, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    rows = [row.split() for row in run_portcullis(tmp_path, "keys", "list").stdout.splitlines()[1:]]
    states = {row[0]: row[2] for row in rows}
    assert {states[kid] for kid in first} == {"retired"}
    active = {row[0]: row[1] for row in rows if row[2] == "active"}
    assert sorted(active.values()) == ["ES256", "EdDSA", "RS256"]
    announced = [
        line.split()[3] for line in rotated.stdout.splitlines() if "new active key" in line
    ]
    assert sorted(announced) == sorted(active)


def test_keys_rotate_with_an_algorithm_replaces_that_algorithms_key_only(tmp_path: Path) -> None:
    with serving(tmp_path):
        pass
    before = [
        row.split() for row in run_portcullis(tmp_path, "keys", "list").stdout.splitlines()[1:]
    ]
    rotated = run_portcullis(tmp_path, "keys", "rotate", "--algorithm", "RS256")
    assert rotated.returncode == 0, rotated.stderr
    rows = [row.split() for row in run_portcullis(tmp_path, "keys", "list").stdout.splitlines()[1:]]
    states = {row[0]: (row[1], row[2]) for row in rows}
    assert {states[kid] for kid, *_ in before} == {
        ("RS256", "retired"),
        ("ES256", "active"),
        ("EdDSA", "active"),
    }
    assert len(rows) == 4
    refused = run_portcullis(tmp_path, "keys", "rotate", "--algorithm", "HS256")
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr


def test_sessions_prune_deletes_expired_and_long_revoked_sessions(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        signup = {"email": "ada@example.com", "password": "correct horse battery staple"}
        httpx.post(f"{server.base_url}/api/v1/auth/signup", json=signup, timeout=10)
        login = f"{server.base_url}/api/v1/auth/login"
        kept = httpx.post(login, json=signup, timeout=10).json()
        ended = httpx.post(login, json=signup, timeout=10).json()
        logout = httpx.post(
            f"{server.base_url}/api/v1/auth/logout",
            headers={"Authorization": f"Bearer {ended['access_token']}"},
            timeout=10,
        )
        assert logout.status_code == 204

    within_grace = run_portcullis(tmp_path, "sessions", "prune")
    assert within_grace.returncode == 0, within_grace.stderr
    assert within_grace.stdout.strip() == "pruned 0 sessions"
    now = run_portcullis(tmp_path, "sessions", "prune", "--revoked-days", "0")
    assert now.stdout.strip() == "pruned 1 session"
    with serving(tmp_path) as server:
        me = httpx.get(
            f"{server.base_url}/api/v1/users/me",
            headers={"Authorization": f"Bearer {kept['access_token']}"},
            timeout=10,
        )
        assert me.status_code == 200
    bad = run_portcullis(tmp_path, "sessions", "prune", "--revoked-days", "-1")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1


def test_mail_dispatch_sends_what_serve_left_in_the_outbox(tmp_path: Path) -> None:
    mail = {
        "PORTCULLIS_MAIL_BACKEND": "file",
        "PORTCULLIS_MAIL_DIR": str(tmp_path / "mail"),
        "PORTCULLIS_MAIL_DISPATCH_INTERVAL_SECONDS": "0",
    }
    with serving(tmp_path, mail) as server:
        account = {"email": "ada@example.com", "password": "correct horse battery staple"}
        httpx.post(f"{server.base_url}/api/v1/auth/signup", json=account, timeout=10)
        forgot = httpx.post(
            f"{server.base_url}/api/v1/auth/password/forgot",
            json={"email": "ada@example.com"},
            timeout=10,
        )
        assert forgot.status_code == 202
    assert not (tmp_path / "mail").exists()  # nothing sent on the request's path

    first = run_portcullis(tmp_path, "mail", "dispatch", **mail)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "sent 1, failed 0 (failed messages are retried later)"
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    second = run_portcullis(tmp_path, "mail", "dispatch", **mail)
    assert second.stdout.startswith("sent 0, failed 0")


def test_create_admin_creates_an_admin_from_a_password_on_stdin(tmp_path: Path) -> None:
    assert run_portcullis(tmp_path, "migrate").returncode == 0
    created = subprocess.run(
        [PORTCULLIS, "create-admin", " Root@Example.com", "--password-stdin"],
        input="correct horse battery staple\n",
        cwd=tmp_path,
        env=portcullis_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created admin: root@example.com"
    with serving(tmp_path) as server:
        login = httpx.post(
            f"{server.base_url}/api/v1/auth/login",
            json={"email": "root@example.com", "password": "correct horse battery staple"},
            timeout=10,
        )
        token = {"Authorization": f"Bearer {login.json()['access_token']}"}
        me = httpx.get(f"{server.base_url}/api/v1/users/me", headers=token, timeout=10).json()
        assert me["role"] == "admin"
        assert httpx.get(f"{server.base_url}/api/v1/users", headers=token, timeout=10).is_success


def test_create_admin_promotes_an_existing_account_without_asking_a_password(
    tmp_path: Path,
) -> None:
    with serving(tmp_path) as server:
        account = {"email": "ada@example.com", "password": "correct horse battery staple"}
        httpx.post(f"{server.base_url}/api/v1/auth/signup", json=account, timeout=10)
    promoted = run_portcullis(tmp_path, "create-admin", "ada@example.com")
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.strip() == "promoted to admin: ada@example.com"


def test_create_admin_refuses_with_one_line_and_a_failure_code(tmp_path: Path) -> None:
    assert run_portcullis(tmp_path, "migrate").returncode == 0
    cases = [
        (["create-admin", "new@example.com"], "", "--password-stdin"),  # no terminal to ask on
        (["create-admin", "new@example.com", "--password-stdin"], "123456789\n", "too common"),
        (["create-admin", "not-an-email", "--password-stdin"], "x" * 20 + "\n", "email"),
        (["create-admin", "new@example.com", "--password-stdin"], "", "standard input"),
    ]
    for args, stdin, expected in cases:
        result = subprocess.run(
            [PORTCULLIS, *args],
            input=stdin,
            cwd=tmp_path,
            env=portcullis_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert expected in lines[0], lines[0]
        assert "Traceback" not in result.stderr


def test_clients_create_list_and_delete_as_the_operator(tmp_path: Path) -> None:
    assert run_portcullis(tmp_path, "migrate").returncode == 0
    created = run_portcullis(
        tmp_path,
        "clients",
        "create",
        "Team wiki",
        "--redirect-uri",
        "https://wiki.example.com/callback",
        "--redirect-uri",
        "http://127.0.0.1:8080/cb",
        "--post-logout-redirect-uri",
        "https://wiki.example.com/",
        "--first-party",
    )
    assert created.returncode == 0, created.stderr
    (line,) = created.stdout.splitlines()
    confidential = json.loads(line)
    assert set(confidential) == {"client_id", "client_secret"}
    public = json.loads(
        run_portcullis(
            tmp_path, "clients", "create", "CLI", "--public", "--redirect-uri", "http://[::1]/cb"
        ).stdout
    )
    assert set(public) == {"client_id"}

    listing = run_portcullis(tmp_path, "clients", "list")
    assert listing.returncode == 0, listing.stderr
    clients = json.loads(listing.stdout)
    assert [c["client_id"] for c in clients] == [confidential["client_id"], public["client_id"]]
    assert clients[0]["name"] == "Team wiki"
    assert clients[0]["redirect_uris"] == [
        "https://wiki.example.com/callback",
        "http://127.0.0.1:8080/cb",
    ]
    assert clients[0]["post_logout_redirect_uris"] == ["https://wiki.example.com/"]
    assert (clients[0]["type"], clients[0]["first_party"]) == ("confidential", True)
    assert (clients[1]["type"], clients[1]["first_party"]) == ("public", False)
    assert confidential["client_secret"] not in listing.stdout
    with sqlite3.connect(tmp_path / "var" / "portcullis.db") as database:
        (stored,) = database.execute(
            "SELECT secret_hash FROM oauth_clients WHERE client_id = ?",
            (confidential["client_id"],),
        ).fetchone()
        (via,) = database.execute(
            "SELECT data FROM audit_events WHERE type = 'oauth_client.registered' LIMIT 1"
        ).fetchone()
    assert stored == hashlib.sha256(confidential["client_secret"].encode()).hexdigest()
    assert json.loads(via)["via"] == "cli"

    deleted = run_portcullis(tmp_path, "clients", "delete", confidential["client_id"])
    assert deleted.returncode == 0, deleted.stderr
    left = json.loads(run_portcullis(tmp_path, "clients", "list").stdout)
    assert [c["client_id"] for c in left] == [public["client_id"]]


def test_clients_refusals_are_one_line_and_a_failure_code(tmp_path: Path) -> None:
    assert run_portcullis(tmp_path, "migrate").returncode == 0
    for args in [
        ("clients", "create", "Wiki", "--redirect-uri", "http://wiki.example.com/cb"),
        ("clients", "create", "Wiki", "--redirect-uri", "https://wiki.example.com/cb#x"),
        ("clients", "create", " ", "--redirect-uri", "https://wiki.example.com/cb"),
        ("clients", "delete", "nobody"),
    ]:
        result = run_portcullis(tmp_path, *args)
        assert result.returncode == 1, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("portcullis: ")
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
    assert json.loads(run_portcullis(tmp_path, "clients", "list").stdout) == []
    missing = run_portcullis(tmp_path, "clients", "create", "Wiki")
    assert missing.returncode == 2
    assert "--redirect-uri" in missing.stderr

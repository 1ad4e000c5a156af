"""The `portcullis` command, run as a user runs it."""

from __future__ import annotations

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
    assert len(rows) >= 2
    assert all(" ES256 " in row and " active " in row for row in rows[1:])
    published = {key["kid"] for key in jwks["keys"]}
    listed = {row.split()[0] for row in rows[1:]}
    assert published == listed


def test_keys_rotate_adds_an_active_key_and_retires_the_old_one(tmp_path: Path) -> None:
    with serving(tmp_path):
        pass  # the first start made the first key
    first = run_portcullis(tmp_path, "keys", "list").stdout.strip().splitlines()[1].split()[0]
    rotated = run_portcullis(tmp_path, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    rows = [row.split() for row in run_portcullis(tmp_path, "keys", "list").stdout.splitlines()[1:]]
    states = {row[0]: row[2] for row in rows}
    assert states[first] == "retired"
    assert [kid for kid, state in states.items() if state == "active"] != [first]
    assert list(states.values()).count("active") == 1
    assert rotated.stdout.split()[3] in states


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

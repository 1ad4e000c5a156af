"""PORTCULLIS_ENCRYPTION_KEYS, run as an operator runs it: the SQLite file holds no private key
in clear, keys that do not open what is stored stop start-up with one line, and
`portcullis secrets reencrypt` moves every secret under the first key."""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

import httpx
import pyotp

from tests.e2e.processes import Server, run_portcullis, serving

KEY_A = base64.urlsafe_b64encode(bytes(range(32))).decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(100, 132))).decode().rstrip("=")  # padding optional
ACCOUNT = {"email": "ada@example.com", "password": "correct horse battery staple"}
PRIVATE_KEY = b"PRIVATE KEY"


def keys(*encoded: str) -> dict[str, str]:
    return {"PORTCULLIS_ENCRYPTION_KEYS": ",".join(encoded)}


def database_bytes(workdir: Path) -> bytes:
    """The SQLite file and whatever sits beside it (a write-ahead log), as a thief copies them."""
    return b"".join(path.read_bytes() for path in (workdir / "var").glob("portcullis.db*"))


def log_in(server: Server) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/v1/auth/login", json=ACCOUNT, timeout=10)


def assert_one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "PORTCULLIS_ENCRYPTION_KEYS" in lines[0]
    for key in (KEY_A, KEY_B):
        assert key.rstrip("=") not in result.stderr
    return lines[0]


def test_with_keys_set_no_private_key_or_totp_secret_is_readable_in_the_sqlite_file(
    tmp_path: Path,
) -> None:
    with serving(tmp_path, keys(KEY_A)) as server:
        signup = httpx.post(f"{server.base_url}/api/v1/auth/signup", json=ACCOUNT, timeout=10)
        assert signup.status_code == 201, signup.text
        login = log_in(server)
        assert login.status_code == 200
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        mfa = f"{server.base_url}/api/v1/users/me/mfa/totp"
        setup = httpx.post(
            mfa, json={"current_password": ACCOUNT["password"]}, headers=headers, timeout=10
        )
        secret = setup.json()["secret"]
        confirmed = httpx.post(
            f"{mfa}/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers, timeout=10
        )
        assert confirmed.status_code == 200, confirmed.text
        challenge = log_in(server).json()
        second = httpx.post(
            f"{server.base_url}/api/v1/auth/mfa",
            json={
                "mfa_token": challenge["mfa_token"],
                "code": pyotp.TOTP(secret).at(time.time() + 30),
            },
            timeout=10,
        )
        assert second.status_code == 200, second.text  # the sealed secret reads back

    stored = database_bytes(tmp_path)
    assert PRIVATE_KEY not in stored
    assert secret.encode() not in stored
    assert b"sealed:v1:" in stored


def test_keys_that_do_not_open_the_stored_secrets_stop_start_up_with_one_line(
    tmp_path: Path,
) -> None:
    with serving(tmp_path, keys(KEY_A)):
        pass  # the first start made the first signing key, sealed under KEY_A

    wrong = run_portcullis(tmp_path, "serve", **keys(KEY_B))
    assert "none of the configured keys" in assert_one_line_refusal(wrong)
    missing = run_portcullis(tmp_path, "serve")
    assert "no encryption key is configured" in assert_one_line_refusal(missing)
    command = run_portcullis(tmp_path, "keys", "rotate", **keys(KEY_B))
    assert_one_line_refusal(command)
    listed = run_portcullis(tmp_path, "keys", "list", **keys(KEY_B, KEY_A))
    assert listed.returncode == 0, listed.stderr


def test_reencrypt_seals_what_was_stored_in_clear_then_moves_it_to_a_new_first_key(
    tmp_path: Path,
) -> None:
    with serving(tmp_path) as server:  # no keys: stored as they are
        httpx.post(f"{server.base_url}/api/v1/auth/signup", json=ACCOUNT, timeout=10)
    assert PRIVATE_KEY in database_bytes(tmp_path)

    refused = run_portcullis(tmp_path, "secrets", "reencrypt")
    assert refused.returncode == 2
    assert_one_line_refusal(refused)

    sealed = run_portcullis(tmp_path, "secrets", "reencrypt", **keys(KEY_B))
    assert sealed.returncode == 0, sealed.stderr
    assert sealed.stdout.strip() == (
        "rewritten under the first key: signing_keys.private_key_pem 3, totp_factors.secret 0,"
        " webhooks.secret 0"
    )
    assert PRIVATE_KEY not in database_bytes(tmp_path)

    rotated = run_portcullis(tmp_path, "secrets", "reencrypt", **keys(KEY_A, KEY_B))
    assert rotated.returncode == 0, rotated.stderr
    assert "signing_keys.private_key_pem 3," in rotated.stdout
    again = run_portcullis(tmp_path, "secrets", "reencrypt", **keys(KEY_A, KEY_B))
    assert "signing_keys.private_key_pem 0," in again.stdout

    with serving(tmp_path, keys(KEY_A)) as server:  # the old key dropped
        assert log_in(server).status_code == 200  # signing opened the private key

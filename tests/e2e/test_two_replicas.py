"""Two `portcullis serve` processes on one PostgreSQL and one Redis, as replicas behind a load
balancer would be: a session revoked through one is refused by the other, and a per-IP limit
counted by one holds at the other."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import httpx

from tests.e2e.processes import serving
from tests.redis_server import redis_url_or_skip


def test_replicas_share_revocations_and_per_ip_limits(
    tmp_path: Path, postgres_database: str
) -> None:
    shared = {
        "PORTCULLIS_DATABASE_URL": postgres_database,
        "PORTCULLIS_RATE_LIMIT_BACKEND": "redis",
        "PORTCULLIS_REDIS_URL": redis_url_or_skip(),
        "PORTCULLIS_RATE_LIMIT_PER_MINUTE": "3",
        # The test plays the load balancer: it names the client in X-Forwarded-For.
        "PORTCULLIS_TRUSTED_PROXIES": "127.0.0.1",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    client_ip = f"203.0.113.{random.randint(1, 254)}"
    other_ip = f"198.51.100.{random.randint(1, 254)}"
    account = {
        "email": f"ada-{uuid.uuid4().hex[:8]}@example.com",
        "password": "correct horse battery",
    }
    with serving(tmp_path / "a", shared) as a, serving(tmp_path / "b", shared) as b:
        as_client = {"X-Forwarded-For": client_ip}
        signup = httpx.post(f"{a.base_url}/api/v1/auth/signup", json=account, headers=as_client)
        assert signup.status_code == 201, signup.text
        pair = httpx.post(f"{a.base_url}/api/v1/auth/login", json=account, headers=as_client).json()
        auth = {"Authorization": f"Bearer {pair['access_token']}"}
        assert httpx.get(f"{b.base_url}/api/v1/users/me", headers=auth).status_code == 200

        assert httpx.post(f"{a.base_url}/api/v1/auth/logout", headers=auth).status_code == 204
        refused = httpx.get(f"{b.base_url}/api/v1/users/me", headers=auth)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_token"

        as_other = {"X-Forwarded-For": other_ip}
        wrong = {**account, "password": "not the password"}
        for _ in range(3):
            answer = httpx.post(f"{a.base_url}/api/v1/auth/login", json=wrong, headers=as_other)
            assert answer.status_code == 401
        limited = httpx.post(f"{b.base_url}/api/v1/auth/login", json=wrong, headers=as_other)
        assert limited.status_code == 429
        assert limited.json()["code"] == "too_many_requests"

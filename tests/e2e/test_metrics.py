"""/metrics, in Prometheus text format, counting what the contract names."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import PASSWORD, LogIn, SignUp


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_requests_logins_and_replays(
    client: httpx.AsyncClient, sign_up: SignUp, log_in: LogIn
) -> None:
    await sign_up()
    pair = await log_in()
    await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "nope-nope"}
    )
    await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    await client.get("/api/v1/users/00000000-0000-4000-8000-000000000000")

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    route = (("method", "POST"), ("route", "/api/v1/auth/login"), ("status", "200"))
    assert samples[("portcullis_http_requests_total", route)] == 1
    assert samples[("portcullis_logins_total", (("outcome", "success"),))] == 1
    assert samples[("portcullis_logins_total", (("outcome", "invalid_credentials"),))] == 1
    assert samples[("portcullis_refresh_token_reuse_detections_total", ())] == 1
    latency = ("portcullis_http_request_duration_seconds_count", (("route", "/api/v1/auth/login"),))
    assert samples[latency] == 2
    # Routes are templates: ids never become labels.
    assert "00000000-0000-4000-8000-000000000000" not in response.text
    assert PASSWORD not in response.text

"""Prometheus metrics: requests by route template and status, latency, login outcomes,
throttled requests, refresh-token replays. One registry per app (tests build many apps in one
process); with several workers, `portcullis serve` points PROMETHEUS_MULTIPROC_DIR at a shared
folder and /metrics adds up every worker's numbers."""

from __future__ import annotations

import asyncio
import os

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

LOGIN_ROUTES = frozenset({"/api/v1/auth/login", "/api/v1/auth/token"})
LOGIN_OUTCOMES = {
    200: "success",
    401: "invalid_credentials",
    403: "account_disabled",
    429: "throttled",
}
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "portcullis_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "portcullis_http_request_duration_seconds",
            "Time to answer, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.logins = Counter(
            "portcullis_logins",
            "Login attempts by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.throttled = Counter(
            "portcullis_throttled_requests",
            "Requests answered 429, by route template.",
            ["route"],
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self.refresh_token_reuse = Counter(
            "portcullis_refresh_token_reuse_detections",
            "Replays of an already-rotated refresh token (each revoked a session).",
            registry=self.registry,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        # labels() checks and locks on every call; the children it returns are kept here.
        # Bounded: route templates, and the methods the HTTP parser knows, times statuses.
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if status == 429:
            self.throttled.labels(route).inc()
        if route in LOGIN_ROUTES and method == "POST":
            self.logins.labels(LOGIN_OUTCOMES.get(status, "error")).inc()

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    app_metrics: Metrics = request.app.state.metrics
    # With several workers this reads every worker's files: in a thread, not on the loop.
    return Response(await asyncio.to_thread(app_metrics.exposition), media_type=CONTENT_TYPE_LATEST)

"""Prometheus metrics of the HTTP layer: requests by route template and status, latency,
throttled requests. They share the container's registry with the security metrics (login
outcomes, refresh-token replays: adapters/metrics/prometheus.py), which the use cases count.
With several workers, `portcullis serve` points PROMETHEUS_MULTIPROC_DIR at a shared folder and
/metrics adds up every worker's numbers."""

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

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
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
        self.throttled = Counter(
            "portcullis_throttled_requests",
            "Requests answered 429, by route template.",
            ["route"],
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

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

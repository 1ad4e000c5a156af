"""The targets a run is held to, each met or missed."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.results import BenchResults, WrkRun

ME_VS_REFERENCE = 0.25
PATCH_VS_REFERENCE = 0.12
LOGIN_VS_BCRYPT = 0.90
HEALTHZ_P99_MS = 50.0
MORE_WORKERS_SCALE = 1.7
WORKER_RSS_MB = 150.0


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    at_least: bool  # met when value >= limit; otherwise when value < limit
    shown: str  # the value as the summary prints it, and what helps to read it

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value < self.limit


def _cpu_ms(run: WrkRun) -> float:
    per_request = run.cpu.service_ms_per_request
    return math.nan if per_request is None else per_request


def _vs_reference(name: str, run: WrkRun, reference: WrkRun, limit: float) -> Target:
    ratio = run.rps / reference.rps if reference.rps else math.nan
    by_cpu = _cpu_ms(reference) / _cpu_ms(run)
    return Target(
        f"{name} >= {limit:.0%} of the reference's req/s (1 worker)",
        ratio,
        limit,
        at_least=True,
        shown=f"{ratio:.1%} (by CPU time per request: {by_cpu:.1%})",
    )


def _login_vs_bcrypt(results: BenchResults) -> Target:
    more, raw = results.more_workers, results.bcrypt_more
    ratio = more.login.rps / raw.verifies_per_second
    verify_share = raw.cpu_ms_per_verify / _cpu_ms(more.login)
    return Target(
        f"login >= {LOGIN_VS_BCRYPT:.0%} of the raw bcrypt verify rate ({more.workers} workers)",
        ratio,
        LOGIN_VS_BCRYPT,
        at_least=True,
        shown=f"{ratio:.0%} (one verify is {verify_share:.0%} of a login's CPU time)",
    )


def _healthz_during_logins(results: BenchResults) -> Target:
    latency = results.one_worker.healthz_under_login.latency
    return Target(
        f"/healthz p99 < {HEALTHZ_P99_MS:.0f} ms while logins run (1 worker)",
        latency.p99_ms,
        HEALTHZ_P99_MS,
        at_least=False,
        shown=f"{latency.p99_ms:.1f} ms (p50 {latency.p50_ms:.1f} ms, max {latency.max_ms:.1f} ms)",
    )


def _more_workers_scale(results: BenchResults) -> Target:
    one, more = results.one_worker.me, results.more_workers.me
    n = results.more_workers.workers
    scale = more.rps / one.rps
    return Target(
        f"GET /users/me with {n} workers >= {MORE_WORKERS_SCALE}x 1 worker",
        scale,
        MORE_WORKERS_SCALE,
        at_least=True,
        shown=f"{scale:.2f}x (the service got {more.cpu.service_cores:.2f} cores with {n} "
        f"workers, {one.cpu.service_cores:.2f} with 1)",
    )


def _worker_memory(results: BenchResults) -> Target:
    services = (results.one_worker.service, results.more_workers.service)
    worker_rss = [mb for served in services for mb in served.memory.worker_rss_mb]
    largest = max(worker_rss, default=math.nan)
    return Target(
        f"resident memory per worker < {WORKER_RSS_MB:.0f} MB",
        largest,
        WORKER_RSS_MB,
        at_least=False,
        shown=f"{largest:.1f} MB",
    )


def targets(results: BenchResults) -> list[Target]:
    one = results.one_worker
    return [
        _vs_reference("GET /users/me", one.me, one.reference, ME_VS_REFERENCE),
        _vs_reference("PATCH /users/me", one.patch_me, one.reference, PATCH_VS_REFERENCE),
        _login_vs_bcrypt(results),
        _healthz_during_logins(results),
        _more_workers_scale(results),
        _worker_memory(results),
    ]

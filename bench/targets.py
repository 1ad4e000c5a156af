"""The targets a run is held to, each met or missed."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.results import BenchResults, WrkRun

ME_VS_REFERENCE = 0.35
PATCH_VS_REFERENCE = 0.15
INTROSPECT_VS_REFERENCE = 0.25
LOGIN_VS_BCRYPT = 0.90
TAIL_P99_MS = 20.0
TAIL_P999_MS = 50.0


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    at_least: bool  # met when value >= limit; otherwise when value <= limit
    shown: str  # the value as the summary prints it, and what helps to read it

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit


def _cpu_ms(run: WrkRun) -> float:
    per_request = run.cpu.service_ms_per_request
    return math.nan if per_request is None else per_request


def _vs_reference(name: str, run: WrkRun, reference: WrkRun, limit: float) -> Target:
    ratio = run.rps / reference.rps if reference.rps else math.nan
    by_cpu = _cpu_ms(reference) / _cpu_ms(run)
    return Target(
        f"{name} >= {limit:.0%} of the bare endpoint's req/s (1 worker)",
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


def _tail(results: BenchResults) -> list[Target]:
    tail = results.tail
    latency = tail.me.latency
    workload = (
        f"GET /users/me, {tail.me.connections} connections, 1 worker pinned to CPU "
        f"{tail.service_cpu}"
    )
    return [
        Target(
            f"{workload}: p99 <= {TAIL_P99_MS:.0f} ms",
            latency.p99_ms,
            TAIL_P99_MS,
            at_least=False,
            shown=f"{latency.p99_ms:.1f} ms (p50 {latency.p50_ms:.1f} ms)",
        ),
        Target(
            f"{workload}: p99.9 <= {TAIL_P999_MS:.0f} ms",
            latency.p999_ms,
            TAIL_P999_MS,
            at_least=False,
            shown=f"{latency.p999_ms:.1f} ms (max {latency.max_ms:.1f} ms)",
        ),
    ]


def _no_errors(results: BenchResults) -> Target:
    runs = results.wrk_runs()
    failing = [f"{name}: {run.errors}" for name, run in runs if run.errors]
    total = sum(run.errors for _, run in runs)
    return Target(
        "no error status and no socket error in any workload",
        total,
        0,
        at_least=False,
        shown=f"{total} in {len(runs)} workloads" + (f" ({'; '.join(failing)})" if failing else ""),
    )


def targets(results: BenchResults) -> list[Target]:
    one = results.one_worker
    return [
        _vs_reference("GET /users/me", one.me, one.reference, ME_VS_REFERENCE),
        _vs_reference("PATCH /users/me", one.patch_me, one.reference, PATCH_VS_REFERENCE),
        _vs_reference(
            "POST /oauth2/introspect", one.introspect, one.reference, INTROSPECT_VS_REFERENCE
        ),
        _login_vs_bcrypt(results),
        *_tail(results),
        _no_errors(results),
    ]

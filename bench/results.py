"""What a bench run measured, as frozen records: the workloads make them, the report reads them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Latency:
    """One wrk run's latency, in ms.

    The percentiles are read from wrk's histogram after its coordinated-omission correction: for
    every answer slower than twice `correction_interval_ms`, wrk adds the samples a connection
    sending at that steady interval would have seen while it waited. A script's done() receives
    that same corrected histogram. `max_ms` is the slowest answer measured: the correction adds
    samples below it, never above.
    """

    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float
    correction_interval_ms: float | None  # None: too few answers per connection to correct


@dataclass(frozen=True)
class CpuShare:
    """Who used the CPUs while a workload ran, in cores (CPU seconds per second of the run)."""

    service_ms_per_request: float | None  # None: no request answered
    service_cores: float
    wrk_cores: float
    postgres_cores: float  # a local PostgreSQL server's processes
    other_cores: float  # everything else on the machine


@dataclass(frozen=True)
class WrkRun:
    connections: int
    threads: int
    requests: int
    seconds: float
    rps: float
    latency: Latency
    # Answers with an error status: wrk counts those above 399; a script that reads the answers
    # (refresh) counts every one that is not 2xx, and the larger count is kept.
    non_2xx: int
    socket_errors: int  # connect, read and write errors
    timeouts: int
    starved: int  # refresh requests sent without a fresh token
    statuses: dict[str, int]  # answers by status, from the scripts that read them
    cpu: CpuShare

    @property
    def errors(self) -> int:
        """Everything that did not come back 2xx: error statuses, socket errors, timeouts."""
        return self.non_2xx + self.socket_errors + self.timeouts


@dataclass(frozen=True)
class BcryptRate:
    """The bcrypt package alone, verifying as fast as it can in `processes` processes."""

    processes: int
    rounds: int
    verifies_per_second: float
    cpu_ms_per_verify: float
    cores: float
    other_cores: float


@dataclass(frozen=True)
class Memory:
    """Resident memory (VmRSS) of a server's processes after its workloads."""

    worker_rss_mb: tuple[float, ...]
    supervisor_rss_mb: float | None  # only with more than one worker


@dataclass(frozen=True)
class Served:
    """What a server left behind once its workloads were done."""

    memory: Memory
    logged_traceback: bool


@dataclass(frozen=True)
class OneWorker:
    reference: WrkRun
    reference_server: Served
    me: WrkRun
    patch_me: WrkRun
    introspect: WrkRun
    signup: WrkRun
    login: WrkRun
    healthz_under_login: WrkRun
    login_with_probe: WrkRun  # the logins that ran beside the /healthz probe
    refresh: WrkRun
    service: Served


@dataclass(frozen=True)
class TailLatency:
    """GET /users/me against one worker pinned to one CPU, wrk on the others."""

    service_cpu: int
    wrk_cpus: tuple[int, ...]
    me: WrkRun
    service: Served


@dataclass(frozen=True)
class MoreWorkers:
    workers: int
    reference: WrkRun
    reference_server: Served
    me: WrkRun
    login: WrkRun
    service: Served


@dataclass(frozen=True)
class Machine:
    nproc: int
    cpu_model: str
    python: str
    kernel: str
    wrk: str
    packages: dict[str, str | None]


@dataclass(frozen=True)
class Settings:
    seconds: int
    threads: int
    connections: int
    hash_connections: int
    tail_connections: int
    accounts: int
    bcrypt_rounds: int
    more_workers: int


@dataclass(frozen=True)
class BenchResults:
    started_utc: str
    database: str  # "sqlite" or "postgresql"
    machine: Machine
    settings: Settings
    loadavg_before: tuple[float, float, float]
    loadavg_after: tuple[float, float, float]
    elapsed_seconds: float
    bcrypt_one: BcryptRate
    bcrypt_more: BcryptRate
    one_worker: OneWorker
    tail: TailLatency
    more_workers: MoreWorkers
    logs_kept_in: str | None  # where the servers' logs were copied when one logged a traceback

    def wrk_runs(self) -> list[tuple[str, WrkRun]]:
        """Every wrk run of the bench, named."""
        one, more, n = self.one_worker, self.more_workers, self.more_workers.workers
        return [
            ("reference GET /ping, 1 worker", one.reference),
            ("GET /users/me, 1 worker", one.me),
            ("PATCH /users/me, 1 worker", one.patch_me),
            ("POST /oauth2/introspect, 1 worker", one.introspect),
            ("signup, 1 worker", one.signup),
            ("login, 1 worker", one.login),
            ("/healthz during logins, 1 worker", one.healthz_under_login),
            ("login beside the /healthz probe, 1 worker", one.login_with_probe),
            ("refresh, 1 worker", one.refresh),
            ("GET /users/me, 1 pinned worker", self.tail.me),
            (f"reference GET /ping, {n} workers", more.reference),
            (f"GET /users/me, {n} workers", more.me),
            (f"login, {n} workers", more.login),
        ]

    def servers(self) -> list[tuple[str, Served]]:
        """Every server the bench started, named as the summary names them."""
        one, more, n = self.one_worker, self.more_workers, self.more_workers.workers
        return [
            ("reference_1w", one.reference_server),
            ("portcullis_1w", one.service),
            ("portcullis_1w_pinned", self.tail.service),
            (f"reference_{n}w", more.reference_server),
            (f"portcullis_{n}w", more.service),
        ]

"""`make bench`: the service under load from wrk, against a bare FastAPI endpoint in the same run.

What it does, in order:
  1. a fresh database: SQLite in a temporary folder, or, with PORTCULLIS_BENCH_DATABASE_URL set
     (say postgresql+asyncpg://postgres@127.0.0.1:5432/test), a new database
     portcullis_bench_<random> made through that URL and dropped at the end; `portcullis migrate`;
  2. the raw bcrypt verify rate at PORTCULLIS_BCRYPT_ROUNDS (default 12), measured with the
     bcrypt package directly in 1 process (and later in as many processes as workers);
  3. with 1 worker: the reference (bench/reference_app.py under the venv's uvicorn, same settings
     as `portcullis serve`), then `portcullis serve` with the per-IP limit off, the per-account
     failure limit out of reach, no mail dispatch and WARNING logs; accounts seeded through the
     API (signup, then two logins each: one session for the access-token workloads, one for the
     refresh chain); GET /users/me, PATCH /users/me, signup, login, /healthz while logins keep
     the CPU busy, refresh;
  4. with --workers 2: the reference, GET /users/me and login, on the same database;
  5. one table on stdout, and bench/results/<UTC timestamp>.json and .md.

Each workload is wrk on loopback for PORTCULLIS_BENCH_SECONDS (default 10) with 2 threads. The
machine is shared with wrk itself (and, on a developer's machine, with whatever else runs):
compare ratios measured in one run, or CPU time per request, not req/s across runs.

`--profile me|patch` instead starts one worker, seeds a few accounts, and samples the worker
with py-spy while wrk drives that workload: collapsed stacks and a flame graph go to
bench/results/, and a ranked summary is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import functools
import hashlib
import json
import multiprocessing
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WRK_DIR = BENCH_DIR / "wrk"
RESULTS_DIR = BENCH_DIR / "results"
BIN = Path(sys.executable).parent  # the venv's bin: portcullis, uvicorn, py-spy live here
PORTCULLIS = BIN / "portcullis"
UVICORN = BIN / "uvicorn"

SECONDS = int(os.environ.get("PORTCULLIS_BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("PORTCULLIS_BCRYPT_ROUNDS", "12"))
DATABASE_URL = os.environ.get("PORTCULLIS_BENCH_DATABASE_URL", "")
THREADS = 2
CONNECTIONS = 32  # the cheap workloads
# Login and signup: two requests per core keep every core hashing. No more: wrk counts the
# requests answered within the run, and the hashing done on those still in flight at its end is
# lost to the count (with 4 in flight, about 2 requests' worth: ~3 % of a 10 s login run at
# cost 12 on 2 cores, which is why the 2-worker login, held to 90 %, runs twice as long).
HASH_CONNECTIONS = 4
ACCOUNTS = 16  # each costs a bcrypt hash and two verifies to seed
MORE_WORKERS = 2
BCRYPT_SECONDS = 5.0
PROBE_DELAY_MS = 10  # /healthz probe: one connection, a request every 10 ms at most

WRK_MISSING = (
    "wrk (the load generator) is missing: install Debian's package as root "
    "(`apt-get install wrk`), then run `make bench` again"
)


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _proc_stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if int(_proc_stat(int(entry.name))[1]) == pid:
                    found.append(int(entry.name))
    return sorted(found)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = _proc_stat(pid)
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    workers: int

    def worker_pids(self) -> list[int]:
        """uvicorn's workers: with --workers N > 1, the spawned children of the supervisor
        (not multiprocessing's resource tracker); with one worker, the process itself."""
        if self.workers == 1:
            return [self.process.pid]
        workers = []
        for pid in _children(self.process.pid):
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    workers.append(pid)
        return workers

    def settle(self, limit: float = 20.0) -> None:
        """Wait until the workers are idle: wrk stops sending at the end of a run, but requests
        it left in flight (a bcrypt each, for logins) still run and would spill into the next."""
        deadline = time.monotonic() + limit
        pids = self.worker_pids()
        before = cpu_seconds(pids)
        while time.monotonic() < deadline:
            time.sleep(0.5)
            after = cpu_seconds(pids)
            if after - before < 0.05 * len(pids):
                return
            before = after

    def memory(self) -> dict[str, Any]:
        pids = self.worker_pids()
        workers = {pid: round(rss_mb(pid), 1) for pid in pids}
        memory: dict[str, Any] = {"worker_rss_mb": list(workers.values())}
        if self.workers > 1:
            memory["supervisor_rss_mb"] = round(rss_mb(self.process.pid), 1)
        return memory

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def tracebacks(self) -> bool:
        return "Traceback" in self.log_path.read_text(errors="replace")


def _start(
    name: str, command: list[str], env: dict[str, str], workdir: Path, workers: int, probe: str
) -> Server:
    port = free_port()
    log_path = workdir / f"{name}-{workers}w-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own tools, from the venv)
            [*command, "--port", str(port), "--workers", str(workers)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, process, f"http://127.0.0.1:{port}", log_path, workers)
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(server.base_url + probe, timeout=2).status_code == 200:
                break
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log_path.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name} did not answer {probe} in 60 s")
        time.sleep(0.2)
    # With several workers, wait until each has started, so none is still importing when
    # wrk begins.
    while len(server.worker_pids()) < workers and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5 * workers)
    return server


def service_env(database_url: str, workdir: Path, workers: int) -> dict[str, str]:
    """The environment of `portcullis migrate` and `serve`: none of the caller's PORTCULLIS_*
    settings but the bcrypt cost, the throttles out of the way, no mail dispatch."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PORTCULLIS_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        PORTCULLIS_DATABASE_URL=database_url,
        PORTCULLIS_BCRYPT_ROUNDS=str(ROUNDS),
        PORTCULLIS_RATE_LIMIT_PER_MINUTE="0",
        PORTCULLIS_LOGIN_MAX_FAILURES="1000000000",
        PORTCULLIS_MAIL_DISPATCH_INTERVAL_SECONDS="0",
        PORTCULLIS_LOG_LEVEL="WARNING",
        PORTCULLIS_LOG_FORMAT="json",
    )
    if workers > 1:
        # What `portcullis serve` would make itself (a fresh temporary folder), but inside the
        # bench's folder so it goes away with it.
        metrics = Path(tempfile.mkdtemp(prefix="metrics-", dir=workdir))
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    return env


def start_service(database_url: str, workdir: Path, workers: int) -> Server:
    env = service_env(database_url, workdir, workers)
    return _start("portcullis", [str(PORTCULLIS), "serve"], env, workdir, workers, "/healthz")


def start_reference(workdir: Path, workers: int) -> Server:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    # `portcullis serve` leaves loop and http at uvicorn's "auto" (uvloop and httptools when
    # installed, as uvicorn[standard] does), has no access log and no server header.
    command = [
        str(UVICORN),
        "bench.reference_app:app",
        "--app-dir",
        str(ROOT),
        "--host",
        "127.0.0.1",
        "--loop",
        "auto",
        "--http",
        "auto",
        "--log-level",
        "warning",
        "--no-access-log",
        "--no-server-header",
    ]
    return _start("reference", command, env, workdir, workers, "/ping")


def migrate(database_url: str, workdir: Path) -> None:
    done = subprocess.run(  # noqa: S603
        [str(PORTCULLIS), "migrate"],
        cwd=workdir,
        env=service_env(database_url, workdir, 1),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"portcullis migrate failed:\n{done.stdout}{done.stderr}")


# --- databases ------------------------------------------------------------------------------


def _asyncpg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _postgres_admin(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def database(workdir: Path) -> Iterator[tuple[str, str]]:
    """(kind, url) of a fresh, empty database, removed afterwards."""
    if not DATABASE_URL:
        yield "sqlite", f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        return
    from sqlalchemy.engine import make_url

    name = f"portcullis_bench_{secrets.token_hex(6)}"
    try:
        asyncio.run(_postgres_admin(DATABASE_URL, f'CREATE DATABASE "{name}"'))
    except Exception as error:
        raise RuntimeError(
            f"PORTCULLIS_BENCH_DATABASE_URL: cannot create a database there "
            f"({type(error).__name__}: {error})"
        ) from error
    try:
        yield (
            "postgresql",
            make_url(DATABASE_URL).set(database=name).render_as_string(hide_password=False),
        )
    finally:
        asyncio.run(_postgres_admin(DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- seeding --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    accounts: Path  # "email<TAB>password" lines
    access_tokens: Path
    refresh_tokens: Path  # of sessions that nothing else uses


async def _seed(base_url: str, tag: str, count: int, workdir: Path) -> Seeded:
    limit = asyncio.Semaphore(4)  # bcrypt runs in the worker's threads: keep both cores busy

    async def one(client: httpx.AsyncClient, i: int) -> tuple[str, str, str, str]:
        email = f"user-{tag}-{i}@bench.example.com"
        password = f"bench-{tag}-{i}-Tr0mbone-quartz"
        async with limit:
            signed_up = await client.post(
                "/api/v1/auth/signup", json={"email": email, "password": password}
            )
            if signed_up.status_code != 201:
                raise RuntimeError(f"seeding: signup {signed_up.status_code} {signed_up.text}")
            pairs = []
            for _ in range(2):
                logged_in = await client.post(
                    "/api/v1/auth/login", json={"email": email, "password": password}
                )
                if logged_in.status_code != 200:
                    raise RuntimeError(f"seeding: login {logged_in.status_code} {logged_in.text}")
                pairs.append(logged_in.json())
        return email, password, pairs[0]["access_token"], pairs[1]["refresh_token"]

    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        seeded = await asyncio.gather(*(one(client, i) for i in range(count)))
    paths = Seeded(workdir / "accounts.tsv", workdir / "access.txt", workdir / "refresh.txt")
    paths.accounts.write_text("".join(f"{email}\t{pw}\n" for email, pw, _, _ in seeded))
    paths.access_tokens.write_text("".join(f"{access}\n" for _, _, access, _ in seeded))
    paths.refresh_tokens.write_text("".join(f"{refresh}\n" for *_, refresh in seeded))
    return paths


def seed(server: Server, tag: str, count: int, workdir: Path) -> Seeded:
    return asyncio.run(_seed(server.base_url, tag, count, workdir))


# --- wrk ------------------------------------------------------------------------------------


def wrk_command(
    url: str,
    script: str,
    args: list[str],
    *,
    connections: int,
    threads: int,
    seconds: float,
    timeout: int,
) -> list[str]:
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout}s",
        "-s",
        str(WRK_DIR / script),
        url,
        *args,
    ]


def _wrk_result(output: str, connections: int, threads: int) -> dict[str, Any]:
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    latency = raw["latency_us"]
    return {
        "connections": connections,
        "threads": threads,
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 2) if seconds else 0.0,
        "p50_ms": round(latency["p50"] / 1000, 2),
        "p90_ms": round(latency["p90"] / 1000, 2),
        "p99_ms": round(latency["p99"] / 1000, 2),
        "max_ms": round(latency["max"] / 1000, 2),
        # wrk counts answers with a status above 399; a script that reads the answers (refresh)
        # counts every one that is not 2xx.
        "non_2xx": max(raw["status_errors"], raw["script_non_2xx"]),
        "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"],
        "timeouts": raw["timeouts"],
        "starved": raw["starved"],
        "statuses": raw["statuses"],
    }


def _machine_busy_seconds() -> float:
    # The first line of /proc/stat adds up every CPU: user nice system idle iowait irq softirq
    # steal (in clock ticks).
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _postgres_cpu_seconds() -> float:
    """CPU time of the PostgreSQL server's processes on this machine, including the backends
    that have exited (the postmaster reaps them, so their time is in its children's count):
    with a pool that opens and closes connections under load, that is most of it."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if (entry / "comm").read_text().strip() == "postgres":
                    fields = _proc_stat(int(entry.name))
                    # utime, stime, and the cutime, cstime of reaped children
                    ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuWatch:
    """Who used the CPUs while a workload ran: the service's workers, wrk (the children this
    process reaped meanwhile), a local PostgreSQL, and everything else on the machine. The
    service's CPU time per request is the number least disturbed by other work on a shared
    machine."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.pids = server.worker_pids()
        self.started = time.monotonic()
        self.service = cpu_seconds(self.pids)
        self.wrk = _children_cpu_seconds()
        self.database = _postgres_cpu_seconds()
        self.machine = _machine_busy_seconds()

    def result(self, requests: int) -> dict[str, float | None]:
        wall = time.monotonic() - self.started
        service = cpu_seconds(self.pids) - self.service
        wrk = _children_cpu_seconds() - self.wrk
        database = _postgres_cpu_seconds() - self.database
        machine = _machine_busy_seconds() - self.machine
        return {
            "service_cpu_ms_per_request": round(service * 1000 / requests, 3) if requests else None,
            "service_cores": round(service / wall, 2),
            "wrk_cores": round(wrk / wall, 2),
            "postgres_cores": round(database / wall, 2),
            "other_cores": round(max(0.0, machine - service - wrk - database) / wall, 2),
        }


def wrk(
    url: str,
    script: str,
    args: list[str] | None = None,
    *,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
    seconds: float = SECONDS,
    timeout: int = 10,
    server: Server | None = None,
) -> dict[str, Any]:
    command = wrk_command(
        url,
        script,
        args or [],
        connections=connections,
        threads=threads,
        seconds=seconds,
        timeout=timeout,
    )
    watch = CpuWatch(server) if server else None
    done = subprocess.run(  # noqa: S603
        command, cwd=WRK_DIR, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    result = _wrk_result(done.stdout, connections, threads)
    if watch:
        result["cpu"] = watch.result(result["requests"])
    return result


def login_with_probe(server: Server, seeded: Seeded) -> tuple[dict[str, Any], dict[str, Any]]:
    """Logins at full load from one wrk; from a second, started a second later and stopped a
    second earlier, one connection asking /healthz every PROBE_DELAY_MS."""
    command = wrk_command(
        server.base_url,
        "login.lua",
        [str(seeded.accounts), str(THREADS)],
        connections=HASH_CONNECTIONS,
        threads=THREADS,
        seconds=SECONDS + 2,
        timeout=60,
    )
    watch = CpuWatch(server)
    with subprocess.Popen(  # noqa: S603
        command, cwd=WRK_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as login:
        time.sleep(1)
        probe = wrk(
            server.base_url + "/healthz",
            "probe.lua",
            [str(PROBE_DELAY_MS)],
            connections=1,
            threads=1,
            seconds=SECONDS,
        )
        output, _ = login.communicate(timeout=SECONDS + 120)
    logins = _wrk_result(output, HASH_CONNECTIONS, THREADS)
    logins["cpu"] = probe["cpu"] = watch.result(logins["requests"] + probe["requests"])
    return probe, logins


# --- bcrypt ---------------------------------------------------------------------------------


def _verify_loop(rounds: int, start_at: float, seconds: float) -> tuple[int, float, float]:
    import bcrypt

    # What the service checks: base64 of a SHA-256 pre-hash (adapters/security/bcrypt_hasher).
    password = base64.b64encode(hashlib.sha256(b"bench password").digest())
    hashed = bcrypt.hashpw(password, bcrypt.gensalt(rounds))
    time.sleep(max(0.0, start_at - time.time()))
    count, started, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        bcrypt.checkpw(password, hashed)
        count += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return count, elapsed, time.process_time() - cpu


def bcrypt_rate(processes: int) -> dict[str, Any]:
    """Verifies per second of bcrypt at the configured cost, in `processes` processes at once,
    and the CPU time of one verify (which other work on the machine does not change)."""
    context = multiprocessing.get_context("spawn")
    busy = _machine_busy_seconds()
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        start_at = time.time() + 3.0  # after every process has started and made its hash
        runs = list(
            pool.map(
                _verify_loop,
                [ROUNDS] * processes,
                [start_at] * processes,
                [BCRYPT_SECONDS] * processes,
            )
        )
        wall = max(elapsed for _, elapsed, _ in runs)
        busy = _machine_busy_seconds() - busy
    cpu = sum(c for _, _, c in runs)
    count = sum(n for n, _, _ in runs)
    # Roughly: the pool's start and its hashes add a second or so of our own to `busy`.
    own = cpu + processes * 0.5
    return {
        "processes": processes,
        "rounds": ROUNDS,
        "verifies_per_second": round(sum(n / elapsed for n, elapsed, _ in runs), 2),
        "cpu_ms_per_verify": round(cpu * 1000 / count, 1),
        "cores": round(cpu / wall, 2),
        "other_cores": round(max(0.0, busy - own) / (wall + 3.0), 2),
    }


# --- the run --------------------------------------------------------------------------------


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def phase_one_worker(database_url: str, workdir: Path, tag: str, results: dict[str, Any]) -> Seeded:
    runs = results["runs"]
    _say("reference, 1 worker")
    reference = start_reference(workdir, 1)
    try:
        runs["reference_1w"] = wrk(reference.base_url + "/ping", "plain.lua", server=reference)
        results["memory"]["reference_1w"] = reference.memory()
    finally:
        reference.stop()

    _say("portcullis, 1 worker: seeding accounts through the API")
    service = start_service(database_url, workdir, 1)
    try:
        seeded = seed(service, tag, ACCOUNTS, workdir)
        tokens = [str(seeded.access_tokens), str(THREADS)]
        _say("GET /users/me")
        runs["me_1w"] = wrk(service.base_url, "me.lua", tokens, server=service)
        _say("PATCH /users/me")
        runs["patch_me_1w"] = wrk(service.base_url, "patch_me.lua", tokens, server=service)
        service.settle()
        _say("signup")
        runs["signup_1w"] = wrk(
            service.base_url,
            "signup.lua",
            [tag, f"signup-{tag}-Tr0mbone-quartz"],
            connections=HASH_CONNECTIONS,
            timeout=60,
            server=service,
        )
        service.settle()
        _say("login")
        runs["login_1w"] = wrk(
            service.base_url,
            "login.lua",
            [str(seeded.accounts), str(THREADS)],
            connections=HASH_CONNECTIONS,
            timeout=60,
            server=service,
        )
        service.settle()
        _say("/healthz while logins run")
        runs["healthz_under_login_1w"], runs["login_with_probe_1w"] = login_with_probe(
            service, seeded
        )
        service.settle()
        _say("refresh")
        # One token per connection and one spare per thread (see bench/wrk/refresh.lua).
        refresh_connections = min(CONNECTIONS, ACCOUNTS - THREADS)
        runs["refresh_1w"] = wrk(
            service.base_url,
            "refresh.lua",
            [str(seeded.refresh_tokens), str(THREADS)],
            connections=refresh_connections,
            server=service,
        )
        service.settle()
        results["memory"]["portcullis_1w"] = service.memory()
    finally:
        service.stop()
    results["tracebacks"]["portcullis_1w"] = service.tracebacks()
    return seeded


def phase_more_workers(
    database_url: str, workdir: Path, seeded: Seeded, results: dict[str, Any]
) -> None:
    workers = MORE_WORKERS
    runs = results["runs"]
    _say(f"reference, {workers} workers")
    reference = start_reference(workdir, workers)
    try:
        runs[f"reference_{workers}w"] = wrk(
            reference.base_url + "/ping", "plain.lua", server=reference
        )
        results["memory"][f"reference_{workers}w"] = reference.memory()
    finally:
        reference.stop()

    _say(f"portcullis, {workers} workers: GET /users/me, login")
    service = start_service(database_url, workdir, workers)
    try:
        runs[f"me_{workers}w"] = wrk(
            service.base_url, "me.lua", [str(seeded.access_tokens), str(THREADS)], server=service
        )
        service.settle()
        runs[f"login_{workers}w"] = wrk(
            service.base_url,
            "login.lua",
            [str(seeded.accounts), str(THREADS)],
            connections=HASH_CONNECTIONS,
            seconds=2 * SECONDS,
            timeout=60,
            server=service,
        )
        service.settle()
        results["memory"][f"portcullis_{workers}w"] = service.memory()
    finally:
        service.stop()
    results["tracebacks"][f"portcullis_{workers}w"] = service.tracebacks()


def _version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    wrk_version = subprocess.run(
        ["wrk", "--version"],  # noqa: S607 (wrk from PATH, as the Makefile checked)
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": wrk_version[0].split(" Copyright")[0].strip() if wrk_version else "unknown",
        "packages": {
            name: _version(name)
            for name in ("uvicorn", "fastapi", "starlette", "pydantic", "uvloop", "httptools")
        },
    }


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _check(
    name: str, value: float, limit: float, at_least: bool, shown: str, aside: str = ""
) -> dict[str, Any]:
    return {
        "target": name,
        "value": value,
        "limit": limit,
        "shown": shown.format(value) + (f" ({aside})" if aside else ""),
        "met": value >= limit if at_least else value < limit,
    }


def rows_and_targets(results: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    runs, hashing = results["runs"], results["bcrypt"]
    w = MORE_WORKERS
    ref1, refn = runs["reference_1w"]["rps"], runs[f"reference_{w}w"]["rps"]
    raw1, rawn = hashing["1"], hashing[str(w)]

    def row(label: str, key: str, workers: int, ref: float, note: str = "") -> dict[str, Any]:
        run = runs[key]
        cpu = run.get("cpu", {})
        return {
            "workload": label,
            "workers": workers,
            "connections": run["connections"],
            "rps": run["rps"],
            "p50_ms": run["p50_ms"],
            "p99_ms": run["p99_ms"],
            "non_2xx": run["non_2xx"],
            "errors": run["socket_errors"] + run["timeouts"],
            "vs_reference": _ratio(run["rps"], ref),
            # Two workloads at once (the probe) share the CPU: no per-request figure there.
            "cpu_ms": None if key.startswith("healthz") else cpu.get("service_cpu_ms_per_request"),
            "cores": cpu.get("service_cores"),
            "db_cores": cpu.get("postgres_cores") if results["database"] == "postgresql" else None,
            "other_cores": cpu.get("other_cores"),
            "note": note,
        }

    def bcrypt_row(raw: dict[str, Any]) -> dict[str, Any]:
        n = raw["processes"]
        return {
            "workload": f"bcrypt verify, {n} process{'es' if n > 1 else ''}",
            "workers": n,
            "connections": None,
            "rps": raw["verifies_per_second"],
            "p50_ms": None,
            "p99_ms": None,
            "non_2xx": None,
            "errors": None,
            "vs_reference": None,
            "cpu_ms": raw["cpu_ms_per_verify"],
            "cores": raw["cores"],
            "db_cores": None,
            "other_cores": raw["other_cores"],
            "note": f"cost {raw['rounds']}, the bcrypt package alone",
        }

    me1, men = runs["me_1w"], runs[f"me_{w}w"]
    patch1 = runs["patch_me_1w"]
    login1, loginn = runs["login_1w"], runs[f"login_{w}w"]
    probe, probe_login = runs["healthz_under_login_1w"], runs["login_with_probe_1w"]
    rows = [
        row("reference GET /ping", "reference_1w", 1, ref1),
        row("GET /users/me", "me_1w", 1, ref1),
        row("PATCH /users/me", "patch_me_1w", 1, ref1),
        row("POST /auth/signup", "signup_1w", 1, ref1),
        row(
            "POST /auth/login",
            "login_1w",
            1,
            ref1,
            f"{login1['rps'] / raw1['verifies_per_second']:.0%} of bcrypt x1",
        ),
        row("POST /auth/refresh", "refresh_1w", 1, ref1),
        row(
            "GET /healthz during logins",
            "healthz_under_login_1w",
            1,
            ref1,
            f"logins meanwhile {probe_login['rps']:.2f}/s",
        ),
        bcrypt_row(raw1),
        row(
            "reference GET /ping",
            f"reference_{w}w",
            w,
            refn,
            f"{refn / ref1:.2f}x 1 worker",
        ),
        row("GET /users/me", f"me_{w}w", w, refn, f"{men['rps'] / me1['rps']:.2f}x 1 worker"),
        row(
            "POST /auth/login",
            f"login_{w}w",
            w,
            refn,
            f"{loginn['rps'] / rawn['verifies_per_second']:.0%} of bcrypt x{w}",
        ),
        bcrypt_row(rawn),
    ]

    def cpu_ms(run: dict[str, Any]) -> float:
        return float(run.get("cpu", {}).get("service_cpu_ms_per_request") or "nan")

    ref_cpu = cpu_ms(runs["reference_1w"])
    worker_rss = [
        mb
        for key in ("portcullis_1w", f"portcullis_{w}w")
        for mb in results["memory"].get(key, {}).get("worker_rss_mb", [])
    ]
    cores = [run.get("cpu", {}).get("service_cores", 0.0) for run in (me1, men)]
    targets = [
        _check(
            "GET /users/me >= 25 % of the reference's req/s (1 worker)",
            me1["rps"] / ref1,
            0.25,
            True,
            "{:.1%}",
            f"by CPU time per request: {ref_cpu / cpu_ms(me1):.1%}",
        ),
        _check(
            "PATCH /users/me >= 12 % of the reference's req/s",
            patch1["rps"] / ref1,
            0.12,
            True,
            "{:.1%}",
            f"by CPU time per request: {ref_cpu / cpu_ms(patch1):.1%}",
        ),
        _check(
            f"login >= 90 % of the raw bcrypt verify rate ({w} workers)",
            loginn["rps"] / rawn["verifies_per_second"],
            0.90,
            True,
            "{:.0%}",
            f"one verify is {rawn['cpu_ms_per_verify'] / cpu_ms(loginn):.0%} of a login's CPU time",
        ),
        _check(
            "/healthz p99 < 50 ms while logins run (1 worker)",
            probe["p99_ms"],
            50.0,
            False,
            "{:.1f} ms",
            f"p50 {probe['p50_ms']:.1f} ms, max {probe['max_ms']:.1f} ms",
        ),
        _check(
            f"GET /users/me with {w} workers >= 1.7x 1 worker",
            men["rps"] / me1["rps"],
            1.7,
            True,
            "{:.2f}x",
            f"the service got {cores[1]:.2f} cores with {w} workers, {cores[0]:.2f} with 1",
        ),
        _check(
            "resident memory per worker < 150 MB",
            max(worker_rss) if worker_rss else float("nan"),
            150.0,
            False,
            "{:.1f} MB",
        ),
    ]
    return rows, targets


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


HEADER = (
    "workload",
    "workers",
    "conns",
    "req/s",
    "p50 ms",
    "p99 ms",
    "non-2xx",
    "errors",
    "vs ref",
    "cpu ms/req",
    "cores",
    "db cores",
    "others",
    "note",
)


COLUMNS = (
    "req/s, p50, p99: wrk's, over the whole run; non-2xx: answers with an error status; errors: "
    "wrk's socket errors and timeouts; vs ref: req/s against the reference endpoint with the same "
    "number of workers, in this run; cpu ms/req: CPU time of the service's worker processes "
    "divided by the requests answered (the least noisy number here); cores: CPU cores the "
    "service's workers got; db cores: cores of the local PostgreSQL server's processes; others: "
    "cores used meanwhile by everything else but wrk (other work on the machine: where it is well "
    "above 0, req/s understate the service)."
)


def _cells(row: dict[str, Any]) -> list[str]:
    return [
        row["workload"],
        str(row["workers"]),
        _cell(row["connections"], "{}"),
        _cell(row["rps"], "{:.1f}"),
        _cell(row["p50_ms"], "{:.1f}"),
        _cell(row["p99_ms"], "{:.1f}"),
        _cell(row["non_2xx"], "{}"),
        _cell(row["errors"], "{}"),
        _cell(row["vs_reference"], "{:.1%}"),
        _cell(row["cpu_ms"], "{:.2f}"),
        _cell(row["cores"], "{:.2f}"),
        _cell(row["db_cores"], "{:.2f}"),
        _cell(row["other_cores"], "{:.2f}"),
        row["note"],
    ]


def text_table(rows: list[dict[str, Any]]) -> str:
    cells = [list(HEADER), *(_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    lines = []
    for line in cells:
        parts = [
            text.ljust(widths[i]) if i in (0, len(HEADER) - 1) else text.rjust(widths[i])
            for i, text in enumerate(line)
        ]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join([" --- "] + [" ---: "] * (len(HEADER) - 2) + [" --- "]) + "|",
    ]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def summary_lines(results: dict[str, Any], targets: list[dict[str, Any]]) -> list[str]:
    lines = [f"{'met   ' if t['met'] else 'MISSED'}  {t['target']}: {t['shown']}" for t in targets]
    memory = results["memory"]
    for key in sorted(memory):
        lines.append(
            f"memory {key}: workers {memory[key]['worker_rss_mb']} MB"
            + (
                f", supervisor {memory[key]['supervisor_rss_mb']} MB"
                if "supervisor_rss_mb" in memory[key]
                else ""
            )
        )
    if any(results["tracebacks"].values()):
        lines.append(
            "the service logged a traceback: see the logs (run kept in " + results["workdir"] + ")"
        )
    return lines


def write_results(
    results: dict[str, Any], rows: list[dict[str, Any]], targets: list[dict[str, Any]]
) -> tuple[Path, Path]:
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = results["started_utc"]
    json_path = RESULTS_DIR / f"{stamp}.json"
    md_path = RESULTS_DIR / f"{stamp}.md"
    json_path.write_text(json.dumps({**results, "rows": rows, "targets": targets}, indent=2) + "\n")
    m = results["machine"]
    md = [
        f"# Benchmark {stamp} ({results['database']})",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, "
        f"kernel {m['kernel']}, {m['wrk']}; uvicorn {m['packages']['uvicorn']}, "
        f"uvloop {m['packages']['uvloop']}, httptools {m['packages']['httptools']}.",
        f"Load average when the run began: {results['loadavg_before']} (other work on the "
        "machine; the `others` column says how much of the CPU it took during each workload). "
        "Where others is well above 0, req/s and ratios are noisy; CPU time per request much "
        "less so.",
        f"wrk: {THREADS} threads, {SECONDS} s a workload; bcrypt cost {ROUNDS}; "
        f"{ACCOUNTS} seeded accounts.",
        "",
        markdown_table(rows),
        "",
        COLUMNS,
        "",
        "Targets (issue 7):",
        "",
        *[f"- {line}" for line in summary_lines(results, targets)],
        "",
    ]
    md_path.write_text("\n".join(md))
    return json_path, md_path


def run_all() -> int:
    if shutil.which("wrk") is None:
        print(f"bench: {WRK_MISSING}", file=sys.stderr)
        return 1
    started = time.monotonic()
    tag = secrets.token_hex(3)
    results: dict[str, Any] = {
        "started_utc": dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ"),
        "machine": machine(),
        "loadavg_before": loadavg(),
        "config": {
            "seconds": SECONDS,
            "threads": THREADS,
            "connections": CONNECTIONS,
            "hash_connections": HASH_CONNECTIONS,
            "accounts": ACCOUNTS,
            "bcrypt_rounds": ROUNDS,
            "more_workers": MORE_WORKERS,
        },
        "runs": {},
        "bcrypt": {},
        "memory": {},
        "tracebacks": {},
    }
    with tempfile.TemporaryDirectory(prefix="portcullis-bench-") as directory:
        workdir = Path(directory)
        results["workdir"] = directory
        with database(workdir) as (kind, url):
            results["database"] = kind
            _say(f"database: {kind}; migrating")
            migrate(url, workdir)
            _say(f"raw bcrypt at cost {ROUNDS}, 1 process")
            results["bcrypt"]["1"] = bcrypt_rate(1)
            seeded = phase_one_worker(url, workdir, tag, results)
            _say(f"raw bcrypt at cost {ROUNDS}, {MORE_WORKERS} processes")
            results["bcrypt"][str(MORE_WORKERS)] = bcrypt_rate(MORE_WORKERS)
            phase_more_workers(url, workdir, seeded, results)
        if any(results["tracebacks"].values()):
            kept = Path(tempfile.mkdtemp(prefix="portcullis-bench-logs-"))
            for log in workdir.glob("*.log"):
                shutil.copy(log, kept)
            results["workdir"] = str(kept)
    results["loadavg_after"] = loadavg()
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)
    rows, targets = rows_and_targets(results)
    json_path, md_path = write_results(results, rows, targets)
    m = results["machine"]
    print()
    print(
        f"Portcullis benchmark, {results['database']}, {results['started_utc']}: "
        f"{m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}, "
        f"load average before {results['loadavg_before'][0]}"
    )
    print(text_table(rows))
    print()
    for line in summary_lines(results, targets):
        print(line)
    print(
        f"\nwritten: {json_path.relative_to(ROOT)}, {md_path.relative_to(ROOT)} "
        f"({results['elapsed_seconds']:.0f} s)"
    )
    return 0


# --- profiling ------------------------------------------------------------------------------

CATEGORIES = (  # first match of the leaf frame's file wins
    ("bcrypt", ("bcrypt",)),
    ("sqlite (aiosqlite thread)", ("aiosqlite", "sqlite3")),
    ("asyncpg", ("asyncpg",)),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("JWT / cryptography", ("jwt/", "cryptography")),
    ("pydantic", ("pydantic",)),
    ("FastAPI", ("fastapi/",)),
    ("Starlette", ("starlette/",)),
    ("structlog / logging", ("structlog", "logging/")),
    ("prometheus_client", ("prometheus_client",)),
    ("dependency_injector", ("dependency_injector",)),
    ("uvicorn / httptools", ("uvicorn/", "httptools")),
    ("asyncio / uvloop", ("asyncio/", "uvloop")),
    ("json", ("json/",)),
    ("Portcullis code", ("/domain/", "/application/", "/adapters/", "/entrypoints/")),
)


def _category(frame: str) -> str:
    for name, needles in CATEGORIES:
        if any(needle in frame for needle in needles):
            return name
    return "other"


def _function(frame: str) -> str:
    # "name (path/to/file.py:123)" -> "name (file.py)"; paths shortened to the package.
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    name, path = match.groups()
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path.removeprefix(str(ROOT) + '/')})"


_WAIT_LINE = re.compile(r"\.get\(|\.wait\(|\.acquire\(|\.join\(|\.select\(")


@functools.cache
def _source_line(short_path: str, line: int) -> str:
    """The text of a frame's line; py-spy names files relative to site-packages or the stdlib."""
    for directory in (ROOT, *map(Path, sys.path)):
        candidate = Path(directory) / short_path
        if candidate.is_file():
            lines = candidate.read_text(errors="replace").splitlines()
            return lines[line - 1] if 0 < line <= len(lines) else ""
    return ""


def _is_wait(frame: str) -> bool:
    """A leaf frame that is a thread blocked on a queue or lock. py-spy does not always tell
    those apart from running threads here (in its --nonblocking mode, and for threads that
    come and go): their samples are left out."""
    match = re.match(r".* \((.*?):(\d+)\)$", frame)
    return bool(match) and bool(_WAIT_LINE.search(_source_line(match[1], int(match[2]))))


def _thread_kind(root: str) -> str:
    # "thread (2178): Thread-10 (_connection_worker_thread)" -> "_connection_worker_thread"
    name = root.split(": ", 1)[-1]
    inner = re.search(r"\((.*)\)$", name)
    return inner[1] if inner else name


# Where a sample's time goes: its frames are read from the innermost outwards and the first
# that matches names the cost (so a library call made by our middleware counts as the
# middleware's unless the library is named here itself). Order within the list does not matter;
# order along the stack does.
COMPONENTS = (
    ("ECAlgorithm.verify (", "JWT: ECDSA signature check (cryptography)"),
    ("jwt/", "JWT: PyJWT decoding and claims, besides the signature"),
    ("jwt_access_tokens.py", "JWT: our token adapter"),
    ("aiosqlite/", "database driver: aiosqlite, event-loop side (hand-offs to its thread)"),
    ("asyncpg/", "database driver: asyncpg"),
    ("sqlalchemy/", "SQLAlchemy (statement compile/cache, execution, pool, greenlet bridge)"),
    ("adapters/persistence/", "our repositories and unit of work (row mapping)"),
    ("serialize_response (", "FastAPI response validation + serialization (pydantic)"),
    ("_prepare_response_content (", "FastAPI response validation + serialization (pydantic)"),
    ("request_body_to_args (", "FastAPI request body validation (pydantic)"),
    ("pydantic", "pydantic, elsewhere"),
    ("solve_dependencies (", "FastAPI dependency injection (its own work)"),
    ("fastapi/", "FastAPI routing, middleware and request/response plumbing"),
    ("starlette/", "Starlette (routing, Request, Response, exception middleware)"),
    ("structlog/", "logging (structlog)"),
    ("logging/", "logging (structlog)"),
    ("prometheus_client/", "metrics (prometheus_client)"),
    ("entrypoints/http/middleware.py", "our middleware (request id, security headers, metrics)"),
    ("entrypoints/http/", "our routers and dependencies"),
    ("entrypoints/container.py", "dependency_injector container"),
    ("dependency_injector", "dependency_injector container"),
    ("application/", "use cases (application/)"),
    ("domain/", "domain objects"),
    ("uvicorn/", "uvicorn HTTP protocol (httptools parsing, transport writes)"),
    ("asyncio/", "event loop (uvloop, C: polling, scheduling, socket I/O; and wake-ups)"),
    ("(no Python frame)", "event loop (uvloop, C: polling, scheduling, socket I/O; and wake-ups)"),
)


def _component(kind: str, frames: list[str]) -> str:
    if kind.endswith("_connection_worker_thread"):
        return "SQLite itself (aiosqlite's threads)"
    if kind not in ("MainThread", "all"):
        return f"thread {kind}"
    for frame in reversed(frames):
        for marker, name in COMPONENTS:
            if marker in frame:
                return name
    return "other"


def summarise_profile(collapsed: Path, top: int = 15) -> str:
    stacks: list[tuple[str, list[str], int]] = []
    waiting = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if _is_wait(frames[-1]):
            waiting += int(count)
            continue
        # A sample with no Python frame at all: the thread was in C code (uvloop, say).
        stacks.append((_thread_kind(frames[0]), frames[1:] or ["(no Python frame)"], int(count)))
    total = sum(count for _, _, count in stacks) or 1
    threads: Counter[str] = Counter()
    for kind, _, count in stacks:
        threads[kind] += count
    out = [
        f"{total} samples of running code (and {waiting} of threads waiting on a queue or a "
        "lock, left out)",
        "by thread: " + ", ".join(f"{t} {c / total:.1%}" for t, c in threads.most_common()),
    ]
    components: Counter[str] = Counter()
    for kind, frames, count in stacks:
        components[_component(kind, frames)] += count
    out.append("\n== where the time goes, innermost named cost of each sample:")
    out += [f"  {c / total:6.1%}  {name}" for name, c in components.most_common()]
    for title, chosen in (("all threads", None), ("the event loop's thread", "MainThread")):
        picked = [(f, c) for kind, f, c in stacks if chosen is None or kind == chosen]
        part = sum(c for _, c in picked) or 1
        by_category: Counter[str] = Counter()
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        for frames, count in picked:
            by_category[_category(frames[-1])] += count
            own[_function(frames[-1])] += count
            for function in {_function(f) for f in frames}:
                inclusive[function] += count
        out.append(f"\n== {title}: {part / total:.1%} of the samples; shares below are of these")
        out.append("by library of the innermost Python frame:")
        out += [f"  {c / part:6.1%}  {name}" for name, c in by_category.most_common()]
        out.append(f"top {top} functions by own time:")
        out += [f"  {c / part:6.1%}  {name}" for name, c in own.most_common(top)]
        if chosen:
            out.append(f"top {top * 3} functions by inclusive time:")
            out += [f"  {c / part:6.1%}  {name}" for name, c in inclusive.most_common(top * 3)]
    return "\n".join(out)


def profile(workload: str) -> int:
    scripts = {"me": "me.lua", "patch": "patch_me.lua"}
    py_spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if shutil.which("wrk") is None:
        print(f"bench: {WRK_MISSING}", file=sys.stderr)
        return 1
    if py_spy is None:
        print("bench: py-spy is missing: `.venv/bin/python -m pip install py-spy`", file=sys.stderr)
        return 1
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="portcullis-profile-") as directory:
        workdir = Path(directory)
        with database(workdir) as (kind, url):
            migrate(url, workdir)
            service = start_service(url, workdir, 1)
            try:
                seeded = seed(service, secrets.token_hex(3), 4, workdir)
                pid = service.worker_pids()[0]
                outputs = {}
                for fmt, suffix in (("raw", "txt"), ("flamegraph", "svg")):
                    out = RESULTS_DIR / f"profile-{workload}-{kind}-{stamp}.{suffix}"
                    spy = subprocess.Popen(  # noqa: S603
                        [
                            py_spy,
                            "record",
                            "--pid",
                            str(pid),
                            "--rate",
                            "200",
                            "--threads",
                            "--nonblocking",
                            "--duration",
                            str(SECONDS),
                            "--format",
                            fmt,
                            "--output",
                            str(out),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                    time.sleep(0.5)
                    run = wrk(
                        service.base_url,
                        scripts[workload],
                        [str(seeded.access_tokens), str(THREADS)],
                        seconds=SECONDS + 1,
                    )
                    _, errors = spy.communicate(timeout=60)
                    if spy.returncode != 0:
                        raise RuntimeError(f"py-spy failed: {errors}")
                    outputs[fmt] = out
                    service.settle()
            finally:
                service.stop()
    print(f"{workload} on {kind}, 1 worker, under wrk ({run['rps']:.0f} req/s while sampled)")
    print(summarise_profile(outputs["raw"]))
    print(
        f"\nwritten: {outputs['raw'].relative_to(ROOT)} (collapsed stacks), "
        f"{outputs['flamegraph'].relative_to(ROOT)}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--profile",
        choices=("me", "patch"),
        help="sample one worker with py-spy under this workload instead",
    )
    args = parser.parse_args()
    try:
        return profile(args.profile) if args.profile else run_all()
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # one clear line (and what the harness attached) is enough
        print(f"bench: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""Starting and stopping the servers under test: `portcullis serve` and the bare reference app."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import config, proc
from bench.results import Memory, Served
from bench.seed import Client

_START_LIMIT_SECONDS = 60


@dataclass(frozen=True)
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
        for pid in proc.children(self.process.pid):
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    workers.append(pid)
        return workers

    def settle(self, limit_seconds: float = 20.0) -> None:
        """Wait until the workers are idle: wrk stops sending at the end of a run, but requests
        it left in flight (a bcrypt each, for logins) still run and would spill into the next."""
        deadline = time.monotonic() + limit_seconds
        pids = self.worker_pids()
        before = proc.cpu_seconds(pids)
        while time.monotonic() < deadline:
            time.sleep(0.5)
            after = proc.cpu_seconds(pids)
            if after - before < 0.05 * len(pids):
                return
            before = after

    def memory(self) -> Memory:
        return Memory(
            worker_rss_mb=tuple(round(proc.rss_mb(pid), 1) for pid in self.worker_pids()),
            supervisor_rss_mb=round(proc.rss_mb(self.process.pid), 1) if self.workers > 1 else None,
        )

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def logged_traceback(self) -> bool:
        return "Traceback" in self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def serving(server: Server) -> Iterator[Server]:
    """The server, stopped on the way out however the workloads ended."""
    try:
        yield server
    finally:
        server.stop()


def served(server: Server, memory: Memory) -> Served:
    """What a stopped server left behind (its log is complete only once it has stopped)."""
    return Served(memory=memory, logged_traceback=server.logged_traceback())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _log_tail(server: Server, lines: int = 40) -> str:
    return "\n".join(server.log_path.read_text(errors="replace").splitlines()[-lines:])


def _wait_until_answering(server: Server, probe_path: str) -> None:
    deadline = time.monotonic() + _START_LIMIT_SECONDS
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(server.base_url + probe_path, timeout=2).status_code == 200:
                break
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{_log_tail(server)}")
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"{server.name} did not answer {probe_path} in {_START_LIMIT_SECONDS} s:\n"
                f"{_log_tail(server)}"
            )
        time.sleep(0.2)
    # With several workers, wait until each has started, so none is still importing when
    # wrk begins.
    while len(server.worker_pids()) < server.workers and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5 * server.workers)


def _start(
    name: str,
    command: list[str],
    env: dict[str, str],
    workdir: Path,
    workers: int,
    probe_path: str,
) -> Server:
    port = _free_port()
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
    _wait_until_answering(server, probe_path)
    return server


def pinned(command: list[str], cpus: tuple[int, ...]) -> list[str]:
    """The command run on these CPUs only (taskset execs it: the process id stays the same)."""
    if not cpus:
        return command
    return ["taskset", "--cpu-list", ",".join(map(str, cpus)), *command]


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
        PORTCULLIS_BCRYPT_ROUNDS=str(config.ROUNDS),
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


def start_service(
    database_url: str, workdir: Path, workers: int, cpus: tuple[int, ...] = ()
) -> Server:
    """`portcullis serve`, on these CPUs only if any are named."""
    env = service_env(database_url, workdir, workers)
    command = pinned([str(config.PORTCULLIS), "serve"], cpus)
    return _start("portcullis", command, env, workdir, workers, "/healthz")


def start_reference(workdir: Path, workers: int) -> Server:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    # `portcullis serve` leaves loop and http at uvicorn's "auto" (uvloop and httptools when
    # installed, as uvicorn[standard] does), has no access log and no server header.
    command = [
        str(config.UVICORN),
        "bench.reference_app:app",
        "--app-dir",
        str(config.ROOT),
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
        [str(config.PORTCULLIS), "migrate"],
        cwd=workdir,
        env=service_env(database_url, workdir, 1),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"portcullis migrate failed:\n{done.stdout}{done.stderr}")


def register_client(database_url: str, workdir: Path) -> Client:
    """The bench's OAuth client, registered with `portcullis clients create` as an operator
    would: confidential and first party, so that signing in asks no consent."""
    redirect_uri = "http://127.0.0.1:9/callback"  # never visited: the code is read off the redirect
    done = subprocess.run(  # noqa: S603
        [
            str(config.PORTCULLIS),
            "clients",
            "create",
            "Bench resource server",
            "--redirect-uri",
            redirect_uri,
            "--first-party",
        ],
        cwd=workdir,
        env=service_env(database_url, workdir, 1),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"portcullis clients create failed:\n{done.stdout}{done.stderr}")
    registered = json.loads(done.stdout)
    return Client(registered["client_id"], registered["client_secret"], redirect_uri)

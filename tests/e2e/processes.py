"""Running the `portcullis` command as a user does: a subprocess with environment variables."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

PORTCULLIS = str(Path(sys.executable).parent / "portcullis")
STARTUP_DEADLINE_SECONDS = 60


def portcullis_env(workdir: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTCULLIS_")}
    env.update(
        PORTCULLIS_DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/var/portcullis.db",
        PORTCULLIS_LOG_FORMAT="json",
        PORTCULLIS_BCRYPT_ROUNDS="4",
    )
    env.update(variables)
    return env


def run_portcullis(workdir: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PORTCULLIS, *args],
        cwd=workdir,
        env=portcullis_env(workdir, **variables),
        capture_output=True,
        text=True,
        timeout=60,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base_url: str
    log_path: Path


@contextlib.contextmanager
def serving(
    workdir: Path,
    variables: Mapping[str, str] | None = None,
    *,
    workers: int = 1,
    port: int | None = None,
    command: Sequence[str] = (PORTCULLIS,),
) -> Iterator[Server]:
    """Migrate, start `portcullis serve` (or `command serve`) on the port (a free one unless
    given; given, it can go into PORTCULLIS_PUBLIC_URL too) with extra PORTCULLIS_* variables,
    yield it, stop it. On leaving, asserts the server logged no traceback."""
    variables = variables or {}
    migrated = run_portcullis(workdir, "migrate", **variables)
    assert migrated.returncode == 0, migrated.stderr
    port = port or free_port()
    log_path = workdir / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*command, "serve", "--port", str(port), "--workers", str(workers)],
            cwd=workdir,
            env=portcullis_env(workdir, **variables),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        # Each worker imports the whole service: without a bytecode cache, on 2 cores shared
        # with other work, two workers can take 25 s and more to start.
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            assert server.poll() is None, f"serve exited early:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, (
                f"serve did not answer /healthz in {STARTUP_DEADLINE_SECONDS} s"
            )
            time.sleep(0.2)
        yield Server(base_url, log_path)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert "Traceback" not in log_path.read_text()

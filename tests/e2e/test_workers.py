"""`serve --workers N` when workers are slow to start, as on a busy machine without bytecode."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import free_port, portcullis_env, run_portcullis, serving

TIMEOUT_VARIABLE = "PORTCULLIS_WORKER_HEALTHCHECK_TIMEOUT_SECONDS"

# The `portcullis` command, except that its workers stay silent for a while as they start. A
# worker is a fresh interpreter that runs the main script again (as `__mp_main__`) before it
# can answer its supervisor's health check, exactly where slow imports would hold it up.
SLOW_WORKER_MAIN = """\
import os
import time

if __name__ == "__mp_main__":
    time.sleep(float(os.environ["SLOW_WORKER_START_SECONDS"]))

from entrypoints.cli import main

if __name__ == "__main__":
    main()
"""


def _slow_worker_command(workdir: Path) -> list[str]:
    script = workdir / "slow_worker_portcullis.py"
    script.write_text(SLOW_WORKER_MAIN)
    return [sys.executable, str(script)]


def _log_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for text in path.read_text().splitlines():
        with contextlib.suppress(ValueError):  # not JSON, or still being written
            lines.append(json.loads(text))
    return lines


def _events(path: Path, event: str) -> list[dict[str, Any]]:
    return [line for line in _log_lines(path) if line.get("event") == event]


def _modules_loaded_by(statement: str) -> set[str]:
    probe = f"{statement}; import sys; print(' '.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return {name.split(".")[0] for name in result.stdout.split()}


def test_a_worker_loads_no_framework_before_it_can_answer_its_supervisor() -> None:
    loaded = _modules_loaded_by("import entrypoints.cli")
    frameworks = {
        "alembic",
        "cryptography",
        "dependency_injector",
        "fastapi",
        "jwt",
        "pydantic",
        "redis",
        "sqlalchemy",
        "starlette",
        "structlog",
        "uvicorn",
    }
    assert not frameworks & loaded


def test_the_app_loads_neither_migrations_nor_the_redis_client_unless_configured() -> None:
    loaded = _modules_loaded_by("import entrypoints.http.app")
    assert "fastapi" in loaded
    assert not {"alembic", "redis"} & loaded


def test_a_worker_silent_past_the_timeout_is_killed_and_logged_as_an_error(
    tmp_path: Path,
) -> None:
    log_path = tmp_path / "serve.log"
    env = portcullis_env(
        tmp_path,
        PORTCULLIS_LOG_LEVEL="WARNING",  # uvicorn says a worker died at info level only
        SLOW_WORKER_START_SECONDS="5",
        **{TIMEOUT_VARIABLE: "1"},
    )
    command = [*_slow_worker_command(tmp_path), "serve", "--port", str(free_port())]
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*command, "--workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not _events(log_path, "worker_died"):
            assert server.poll() is None, f"serve exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"no worker_died in 30 s:\n{log_path.read_text()}"
            time.sleep(0.2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    died = _events(log_path, "worker_died")[0]
    assert died["level"] == "error"
    assert died["exitcode"] == -signal.SIGKILL
    assert "did not answer the health check within 1 s" in died["reason"]
    assert TIMEOUT_VARIABLE in died["reason"]
    assert "Traceback" not in log_path.read_text()


def test_two_workers_slower_to_start_than_uvicorns_own_timeout_become_ready(
    tmp_path: Path,
) -> None:
    # Silent for longer than uvicorn's own default of 5 s; the service's default allows it.
    command = _slow_worker_command(tmp_path)
    with serving(
        tmp_path, {"SLOW_WORKER_START_SECONDS": "6"}, workers=2, command=command
    ) as server:
        deadline = time.monotonic() + 60
        while len(_events(server.log_path, "Application startup complete.")) < 2:
            assert time.monotonic() < deadline, server.log_path.read_text()
            time.sleep(0.2)
        assert httpx.get(f"{server.base_url}/readyz", timeout=10).status_code == 200
    assert not [line for line in _log_lines(server.log_path) if "died" in line.get("event", "")]


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "soon"])
def test_the_health_check_timeout_must_be_a_positive_whole_number(
    tmp_path: Path, value: str
) -> None:
    result = run_portcullis(
        tmp_path, "serve", "--port", str(free_port()), **{TIMEOUT_VARIABLE: value}
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"portcullis: configuration error: {TIMEOUT_VARIABLE}")

"""The machine a run measured: CPUs, kernel, Python, wrk and the server's packages, and its load."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from bench.results import Machine

_PACKAGES = ("uvicorn", "fastapi", "starlette", "pydantic", "uvloop", "httptools")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def _wrk_version() -> str:
    printed = subprocess.run(
        ["wrk", "--version"],  # noqa: S607 (wrk from PATH, as the Makefile checked)
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    return printed[0].split(" Copyright")[0].strip() if printed else "unknown"


def machine() -> Machine:
    return Machine(
        nproc=len(os.sched_getaffinity(0)),
        cpu_model=_cpu_model(),
        python=platform.python_version(),
        kernel=platform.release(),
        wrk=_wrk_version(),
        packages={name: _version(name) for name in _PACKAGES},
    )


def loadavg() -> tuple[float, float, float]:
    one, five, fifteen = (float(x) for x in Path("/proc/loadavg").read_text().split()[:3])
    return one, five, fifteen

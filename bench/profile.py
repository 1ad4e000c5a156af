"""`make bench-profile`: py-spy samples one worker while wrk drives GET or PATCH /users/me, or
POST /oauth2/introspect."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import config, wrk
from bench.database import database
from bench.profile_summary import summarise_profile
from bench.seed import seed
from bench.server import Server, migrate, register_client, serving, start_service
from bench.wrk import Load

SCRIPTS = {"me": "me.lua", "patch": "patch_me.lua", "introspect": "introspect.lua"}
_ACCOUNTS = 4
_SAMPLES_PER_SECOND = 200


def _py_spy_record(py_spy: str, pid: int, fmt: str, output: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(_SAMPLES_PER_SECOND),
            "--threads",
            "--nonblocking",
            "--duration",
            str(config.SECONDS),
            "--format",
            fmt,
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _record(py_spy: str, service: Server, load: Load, fmt: str, output: Path) -> float:
    """One py-spy recording of the worker under `load`; the req/s wrk got meanwhile."""
    spy = _py_spy_record(py_spy, service.worker_pids()[0], fmt, output)
    time.sleep(0.5)  # wrk starts after py-spy has attached, and outlasts it by half a second
    run = wrk.run(service.base_url, load, service)
    _, errors = spy.communicate(timeout=60)
    if spy.returncode != 0:
        raise RuntimeError(f"py-spy failed: {errors}")
    service.settle()
    return run.rps


def profile(workload: str) -> int:
    """Two recordings, as py-spy writes one format each: the collapsed stacks summarised here,
    then a flame graph."""
    py_spy = shutil.which("py-spy", path=str(config.BIN)) or shutil.which("py-spy")
    if py_spy is None:
        print("bench: py-spy is missing: `.venv/bin/python -m pip install py-spy`", file=sys.stderr)
        return 1
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    config.RESULTS_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="portcullis-profile-") as directory:
        workdir = Path(directory)
        with database(workdir) as db:
            migrate(db.url, workdir)
            stem = config.RESULTS_DIR / f"profile-{workload}-{db.kind}-{stamp}"
            stacks, flame_graph = stem.with_suffix(".txt"), stem.with_suffix(".svg")
            oauth = register_client(db.url, workdir)
            with serving(start_service(db.url, workdir, 1)) as service:
                seeded = seed(service.base_url, oauth, secrets.token_hex(3), _ACCOUNTS, workdir)
                args: tuple[str, ...] = (str(seeded.access_tokens), str(config.THREADS))
                if workload == "introspect":
                    args = (str(seeded.oauth_access_tokens), str(config.THREADS))
                    args += (oauth.basic_credentials,)
                load = Load(SCRIPTS[workload], args, seconds=config.SECONDS + 1)
                _record(py_spy, service, load, "raw", stacks)
                rps = _record(py_spy, service, load, "flamegraph", flame_graph)
    print(f"{workload} on {db.kind}, 1 worker, under wrk ({rps:.0f} req/s while sampled)")
    print(summarise_profile(stacks))
    print(
        f"\nwritten: {stacks.relative_to(config.ROOT)} (collapsed stacks), "
        f"{flame_graph.relative_to(config.ROOT)}"
    )
    return 0

"""The ceiling for logins: bcrypt verifies per second at the service's cost, the package alone."""

from __future__ import annotations

import base64
import hashlib
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from bench import config, proc
from bench.results import BcryptRate

_START_DELAY_SECONDS = 3.0  # every process started and its hash made before any verifies
_OWN_OVERHEAD_SECONDS = 0.5  # a process's start and its hash, roughly


@dataclass(frozen=True)
class _Verified:
    count: int
    wall_seconds: float
    cpu_seconds: float


def _verify_loop(rounds: int, start_at: float, seconds: float) -> _Verified:
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
            return _Verified(count, elapsed, time.process_time() - cpu)


def bcrypt_rate(processes: int) -> BcryptRate:
    """Verifies per second at the configured cost in `processes` processes at once, and the CPU
    time of one verify (which other work on the machine does not change)."""
    context = multiprocessing.get_context("spawn")
    busy = proc.machine_busy_seconds()
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        start_at = time.time() + _START_DELAY_SECONDS
        runs = list(
            pool.map(
                _verify_loop,
                [config.ROUNDS] * processes,
                [start_at] * processes,
                [config.BCRYPT_SECONDS] * processes,
            )
        )
        busy = proc.machine_busy_seconds() - busy
    wall = max(run.wall_seconds for run in runs)
    cpu = sum(run.cpu_seconds for run in runs)
    count = sum(run.count for run in runs)
    own = cpu + processes * _OWN_OVERHEAD_SECONDS
    return BcryptRate(
        processes=processes,
        rounds=config.ROUNDS,
        verifies_per_second=round(sum(run.count / run.wall_seconds for run in runs), 2),
        cpu_ms_per_verify=round(cpu * 1000 / count, 1),
        cores=round(cpu / wall, 2),
        other_cores=round(max(0.0, busy - own) / (wall + _START_DELAY_SECONDS), 2),
    )

"""Readings from /proc: processes' children, CPU time and resident memory, and the machine's."""

from __future__ import annotations

import contextlib
import os
import resource
import time
from pathlib import Path

from bench.results import CpuShare

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat from the 3rd (state) on: the command name before them
    may hold spaces."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def children(pid: int) -> list[int]:
    found = []
    for candidate in _pids():
        with contextlib.suppress(OSError, ValueError):
            if int(_stat_fields(candidate)[1]) == pid:
                found.append(candidate)
    return sorted(found)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User and system time of these processes (those that exited count for nothing)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = _stat_fields(pid)
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / _TICKS


def machine_busy_seconds() -> float:
    # The first line of /proc/stat adds up every CPU: user nice system idle iowait irq softirq
    # steal (in clock ticks).
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / _TICKS


def _reaped_children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _postgres_cpu_seconds() -> float:
    """CPU time of the PostgreSQL server's processes on this machine, including the backends
    that have exited (the postmaster reaps them, so their time is in its children's count):
    with a pool that opens and closes connections under load, that is most of it."""
    ticks = 0
    for pid in _pids():
        with contextlib.suppress(OSError, ValueError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
                fields = _stat_fields(pid)
                # utime, stime, and the cutime, cstime of reaped children
                ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / _TICKS


class CpuWatch:
    """Who used the CPUs from now on: the service's workers, wrk (the children this process
    reaps meanwhile), a local PostgreSQL, and everything else on the machine. The service's CPU
    time per request is the figure least disturbed by other work on a shared machine."""

    def __init__(self, service_pids: list[int]) -> None:
        self._pids = service_pids
        self._started = time.monotonic()
        self._service = cpu_seconds(service_pids)
        self._wrk = _reaped_children_cpu_seconds()
        self._postgres = _postgres_cpu_seconds()
        self._machine = machine_busy_seconds()

    def share(self, requests: int) -> CpuShare:
        """The CPU used since the watch began, `requests` having been answered meanwhile."""
        wall = time.monotonic() - self._started
        service = cpu_seconds(self._pids) - self._service
        wrk = _reaped_children_cpu_seconds() - self._wrk
        postgres = _postgres_cpu_seconds() - self._postgres
        machine = machine_busy_seconds() - self._machine
        return CpuShare(
            service_ms_per_request=round(service * 1000 / requests, 3) if requests else None,
            service_cores=round(service / wall, 2),
            wrk_cores=round(wrk / wall, 2),
            postgres_cores=round(postgres / wall, 2),
            other_cores=round(max(0.0, machine - service - wrk - postgres) / wall, 2),
        )

"""Running wrk with a script of bench/lua/ and reading the line its done() prints."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from bench import config
from bench.proc import CpuWatch
from bench.results import CpuShare, Latency, WrkRun
from bench.server import Server, pinned

_RESULT_PREFIX = "BENCH_JSON "  # bench/lua/common.lua's done()


@dataclass(frozen=True)
class Load:
    """What wrk is to do: which script with which arguments, and how hard."""

    script: str  # a file of bench/lua/
    args: tuple[str, ...] = ()
    connections: int = config.CONNECTIONS
    threads: int = config.THREADS
    seconds: int = config.SECONDS
    timeout_seconds: int = 10  # an answer slower than this is a timeout, not a latency
    cpus: tuple[int, ...] = ()  # run wrk on these CPUs only; none named: anywhere

    def command(self, url: str) -> list[str]:
        wrk = [
            "wrk",
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{self.seconds}s",
            f"--timeout={self.timeout_seconds}s",
            "-s",
            str(config.LUA_DIR / self.script),
            url,
            *self.args,
        ]
        return pinned(wrk, self.cpus)


@dataclass(frozen=True)
class Printed:
    """What wrk's done() printed for one run."""

    requests: int
    duration_us: int
    status_errors: int
    socket_errors: int
    timeouts: int
    script_non_2xx: int
    starved: int
    statuses: dict[str, int]
    latency: Latency

    def run(self, load: Load, cpu: CpuShare) -> WrkRun:
        seconds = self.duration_us / 1e6
        return WrkRun(
            connections=load.connections,
            threads=load.threads,
            requests=self.requests,
            seconds=round(seconds, 2),
            rps=round(self.requests / seconds, 2) if seconds else 0.0,
            latency=self.latency,
            non_2xx=max(self.status_errors, self.script_non_2xx),
            socket_errors=self.socket_errors,
            timeouts=self.timeouts,
            starved=self.starved,
            statuses=self.statuses,
            cpu=cpu,
        )


def _correction_interval_ms(duration_us: int, requests: int, connections: int) -> float | None:
    """The steady interval wrk's correction assumes: the run's length over the answers each
    connection got, in wrk's integer arithmetic (wrk.c, before it calls done())."""
    per_connection = requests // connections
    return round(duration_us // per_connection / 1000, 2) if per_connection else None


def parse(output: str, connections: int) -> Printed:
    line = next((ln for ln in output.splitlines() if ln.startswith(_RESULT_PREFIX)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    raw = json.loads(line.removeprefix(_RESULT_PREFIX))
    latency_us = raw["latency_us"]
    requests, duration_us = int(raw["requests"]), int(raw["duration_us"])

    def ms(name: str) -> float:
        return round(float(latency_us[name]) / 1000, 2)

    return Printed(
        requests=requests,
        duration_us=duration_us,
        status_errors=int(raw["status_errors"]),
        socket_errors=sum(int(raw[f"{kind}_errors"]) for kind in ("connect", "read", "write")),
        timeouts=int(raw["timeouts"]),
        script_non_2xx=int(raw["script_non_2xx"]),
        starved=int(raw["starved"]),
        statuses={str(status): int(count) for status, count in raw["statuses"].items()},
        latency=Latency(
            p50_ms=ms("p50"),
            p90_ms=ms("p90"),
            p99_ms=ms("p99"),
            p999_ms=ms("p999"),
            max_ms=ms("max"),
            mean_ms=ms("mean"),
            correction_interval_ms=_correction_interval_ms(duration_us, requests, connections),
        ),
    )


def start(url: str, load: Load) -> subprocess.Popen[str]:
    """wrk running beside other work; `finish` reads what it printed."""
    return subprocess.Popen(  # noqa: S603 (wrk from PATH, as the Makefile checked)
        load.command(url),
        cwd=config.LUA_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str], load: Load) -> Printed:
    output, _ = process.communicate(timeout=load.seconds + 120)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    return parse(output, load.connections)


def run(url: str, load: Load, server: Server) -> WrkRun:
    """wrk against `url` until it is done, and the CPU `server`'s workers used meanwhile."""
    watch = CpuWatch(server.worker_pids())
    printed = finish(start(url, load), load)
    return printed.run(load, watch.share(printed.requests))

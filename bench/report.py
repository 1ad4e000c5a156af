"""The run as one table (text on stdout, markdown in bench/results/), the targets, and the JSON."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import config
from bench.results import BcryptRate, BenchResults, WrkRun
from bench.targets import Target


@dataclass(frozen=True, kw_only=True)
class Row:
    """None: the workload has no such figure (bcrypt alone has no latency, say)."""

    workload: str
    workers: int
    connections: int | None = None
    rps: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    max_ms: float | None = None
    non_2xx: int | None = None
    errors: int | None = None  # socket errors and timeouts
    vs_reference: float | None = None
    cpu_ms: float | None = None
    cores: float
    db_cores: float | None = None
    other_cores: float
    note: str


# Each column of the table: its heading, the Row field it shows, and how a number there is
# written (None: the field is text, shown as it is). A field that is None shows as "-".
_COLUMNS_SHOWN: tuple[tuple[str, str, str | None], ...] = (
    ("workload", "workload", None),
    ("workers", "workers", "{}"),
    ("conns", "connections", "{}"),
    ("req/s", "rps", "{:.1f}"),
    ("p50 ms", "p50_ms", "{:.1f}"),
    ("p99 ms", "p99_ms", "{:.1f}"),
    ("p99.9 ms", "p999_ms", "{:.1f}"),
    ("max ms", "max_ms", "{:.1f}"),
    ("non-2xx", "non_2xx", "{}"),
    ("errors", "errors", "{}"),
    ("vs ref", "vs_reference", "{:.1%}"),
    ("cpu ms/req", "cpu_ms", "{:.2f}"),
    ("cores", "cores", "{:.2f}"),
    ("db cores", "db_cores", "{:.2f}"),
    ("others", "other_cores", "{:.2f}"),
    ("note", "note", None),
)

HEADER = tuple(heading for heading, _, _ in _COLUMNS_SHOWN)

LATENCY = (
    "Latency: p50, p99 and p99.9 are wrk's percentiles, corrected for coordinated omission as wrk "
    "prints them; max is the slowest answer measured, which the correction never changes."
)

COLUMNS = (
    "req/s: answers per second over the whole run; p50, p99, p99.9, max: as above; non-2xx: "
    "answers with an error status; errors: wrk's socket errors and timeouts; vs ref: req/s against "
    "the reference endpoint with the same number of workers, in this run; cpu ms/req: CPU time of "
    "the service's worker processes divided by the requests answered (the least noisy number "
    "here); cores: CPU cores the service's workers got; db cores: cores of the local PostgreSQL "
    "server's processes; others: cores used meanwhile by everything else but wrk (other work on "
    "the machine: where it is well above 0, req/s understate the service)."
)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _wrk_row(
    results: BenchResults,
    label: str,
    run: WrkRun,
    workers: int,
    reference: WrkRun | None,
    note: str = "",
    *,
    cpu_per_request: bool = True,
) -> Row:
    latency = run.latency
    return Row(
        workload=label,
        workers=workers,
        connections=run.connections,
        rps=run.rps,
        p50_ms=latency.p50_ms,
        p99_ms=latency.p99_ms,
        p999_ms=latency.p999_ms,
        max_ms=latency.max_ms,
        non_2xx=run.non_2xx,
        errors=run.socket_errors + run.timeouts,
        vs_reference=_ratio(run.rps, reference.rps) if reference else None,
        cpu_ms=run.cpu.service_ms_per_request if cpu_per_request else None,
        cores=run.cpu.service_cores,
        db_cores=run.cpu.postgres_cores if results.database == "postgresql" else None,
        other_cores=run.cpu.other_cores,
        note=note,
    )


def _bcrypt_row(raw: BcryptRate) -> Row:
    n = raw.processes
    return Row(
        workload=f"bcrypt verify, {n} process{'es' if n > 1 else ''}",
        workers=n,
        rps=raw.verifies_per_second,
        cpu_ms=raw.cpu_ms_per_verify,
        cores=raw.cores,
        other_cores=raw.other_cores,
        note=f"cost {raw.rounds}, the bcrypt package alone",
    )


def rows(results: BenchResults) -> list[Row]:
    one, tail, more = results.one_worker, results.tail, results.more_workers
    w = more.workers
    raw1, rawn = results.bcrypt_one, results.bcrypt_more
    ref1, refn = one.reference, more.reference
    wrk_cpus = ",".join(map(str, tail.wrk_cpus))
    return [
        _wrk_row(results, "reference GET /ping", ref1, 1, ref1),
        _wrk_row(results, "GET /users/me", one.me, 1, ref1),
        _wrk_row(results, "PATCH /users/me", one.patch_me, 1, ref1),
        _wrk_row(results, "POST /oauth2/introspect", one.introspect, 1, ref1),
        _wrk_row(results, "POST /auth/signup", one.signup, 1, ref1),
        _wrk_row(
            results,
            "POST /auth/login",
            one.login,
            1,
            ref1,
            f"{one.login.rps / raw1.verifies_per_second:.0%} of bcrypt x1",
        ),
        _wrk_row(results, "POST /auth/refresh", one.refresh, 1, ref1),
        # Two workloads at once (the probe and the logins) share the CPU: no per-request figure.
        _wrk_row(
            results,
            "GET /healthz during logins",
            one.healthz_under_login,
            1,
            ref1,
            f"logins meanwhile {one.login_with_probe.rps:.2f}/s",
            cpu_per_request=False,
        ),
        _wrk_row(
            results,
            "GET /users/me, tail latency",
            tail.me,
            1,
            None,
            f"the worker pinned to CPU {tail.service_cpu}, wrk on CPU {wrk_cpus}",
        ),
        _bcrypt_row(raw1),
        _wrk_row(
            results, "reference GET /ping", refn, w, refn, f"{refn.rps / ref1.rps:.2f}x 1 worker"
        ),
        _wrk_row(
            results, "GET /users/me", more.me, w, refn, f"{more.me.rps / one.me.rps:.2f}x 1 worker"
        ),
        _wrk_row(
            results,
            "POST /auth/login",
            more.login,
            w,
            refn,
            f"{more.login.rps / rawn.verifies_per_second:.0%} of bcrypt x{w}",
        ),
        _bcrypt_row(rawn),
    ]


def _cell(value: str | float | None, fmt: str | None) -> str:
    if value is None:
        return "-"
    return str(value) if fmt is None else fmt.format(value)


def _cells(row: Row) -> list[str]:
    return [_cell(getattr(row, field), fmt) for _, field, fmt in _COLUMNS_SHOWN]


def text_table(table: Sequence[Row]) -> str:
    cells = [list(HEADER), *(_cells(row) for row in table)]
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


def markdown_table(table: Sequence[Row]) -> str:
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join([" --- "] + [" ---: "] * (len(HEADER) - 2) + [" --- "]) + "|",
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in table]
    return "\n".join(lines)


def summary_lines(results: BenchResults, checked: Sequence[Target]) -> list[str]:
    lines = [f"{'met   ' if t.met else 'MISSED'}  {t.name}: {t.shown}" for t in checked]
    for name, server in sorted(results.servers(), key=lambda named: named[0]):
        memory = server.memory
        supervisor = memory.supervisor_rss_mb
        lines.append(
            f"memory {name}: workers {list(memory.worker_rss_mb)} MB"
            + (f", supervisor {supervisor} MB" if supervisor is not None else "")
        )
    if results.logs_kept_in:
        lines.append(f"a server logged a traceback: see the logs kept in {results.logs_kept_in}")
    return lines


def _machine_line(results: BenchResults) -> str:
    m = results.machine
    return (
        f"{m.nproc} CPUs ({m.cpu_model}), Python {m.python}, kernel {m.kernel}, {m.wrk}; "
        f"uvicorn {m.packages['uvicorn']}, uvloop {m.packages['uvloop']}, "
        f"httptools {m.packages['httptools']}"
    )


def _as_json(results: BenchResults, table: Sequence[Row], checked: Sequence[Target]) -> str:
    document = {
        **dataclasses.asdict(results),
        "rows": [dataclasses.asdict(row) for row in table],
        "targets": [{**dataclasses.asdict(t), "met": t.met} for t in checked],
    }
    return json.dumps(document, indent=2) + "\n"


def _as_markdown(results: BenchResults, table: Sequence[Row], checked: Sequence[Target]) -> str:
    s = results.settings
    lines = [
        f"# Benchmark {results.started_utc} ({results.database})",
        "",
        f"Machine: {_machine_line(results)}.",
        f"Load average when the run began: {list(results.loadavg_before)} (other work on the "
        "machine; the `others` column says how much of the CPU it took during each workload). "
        "Where others is well above 0, req/s and ratios are noisy; CPU time per request much "
        "less so.",
        f"wrk: {s.threads} threads, {s.seconds} s a workload; bcrypt cost {s.bcrypt_rounds}; "
        f"{s.accounts} seeded accounts.",
        "",
        LATENCY,
        "",
        markdown_table(table),
        "",
        COLUMNS,
        "",
        "Targets:",
        "",
        *[f"- {line}" for line in summary_lines(results, checked)],
        "",
    ]
    return "\n".join(lines)


def write(
    results: BenchResults, table: Sequence[Row], checked: Sequence[Target]
) -> tuple[Path, Path]:
    """bench/results/<UTC timestamp>.json (every figure) and .md (the table and the machine)."""
    config.RESULTS_DIR.mkdir(exist_ok=True)
    json_path = config.RESULTS_DIR / f"{results.started_utc}.json"
    md_path = config.RESULTS_DIR / f"{results.started_utc}.md"
    json_path.write_text(_as_json(results, table, checked))
    md_path.write_text(_as_markdown(results, table, checked))
    return json_path, md_path


def print_report(
    results: BenchResults, table: Sequence[Row], checked: Sequence[Target], written: Sequence[Path]
) -> None:
    print()
    print(
        f"Portcullis benchmark, {results.database}, {results.started_utc}: "
        f"{_machine_line(results)}; load average before {results.loadavg_before[0]}"
    )
    print(LATENCY)
    print(text_table(table))
    print()
    for line in summary_lines(results, checked):
        print(line)
    paths = ", ".join(str(path.relative_to(config.ROOT)) for path in written)
    print(f"\nwritten: {paths} ({results.elapsed_seconds:.0f} s)")

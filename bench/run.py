"""`make bench`: the service under load from wrk, against a bare FastAPI endpoint in the same run.

In order: a fresh database (SQLite, or PostgreSQL through PORTCULLIS_BENCH_DATABASE_URL) and
`portcullis migrate`; the raw bcrypt verify rate in 1 process; every workload against 1 worker;
GET /users/me against 1 worker pinned to one CPU, for its tail latency; the raw bcrypt rate in
2 processes; the reference, GET /users/me and login against 2 workers. Then one table on stdout,
the targets met or missed, and bench/results/<UTC timestamp>.json and .md. bench/README.md says
what each workload and column is.

`--profile me|patch|introspect` instead samples one worker with py-spy while wrk drives that
workload.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import config, report
from bench.bcrypt_rate import bcrypt_rate
from bench.database import database
from bench.machine import loadavg, machine
from bench.profile import SCRIPTS, profile
from bench.results import BenchResults, Settings
from bench.server import migrate
from bench.targets import targets
from bench.workloads import (
    measure_more_workers,
    measure_one_worker,
    measure_tail_latency,
    say,
)

SETTINGS = Settings(
    seconds=config.SECONDS,
    threads=config.THREADS,
    connections=config.CONNECTIONS,
    hash_connections=config.HASH_CONNECTIONS,
    tail_connections=config.TAIL_CONNECTIONS,
    accounts=config.ACCOUNTS,
    bcrypt_rounds=config.ROUNDS,
    more_workers=config.MORE_WORKERS,
)


def _keep_logs(workdir: Path) -> str:
    """A copy of the servers' logs that outlives the run's temporary folder."""
    kept = Path(tempfile.mkdtemp(prefix="portcullis-bench-logs-"))
    for log in workdir.glob("*.log"):
        shutil.copy(log, kept)
    return str(kept)


def measure() -> BenchResults:
    started, started_utc = time.monotonic(), dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    described, loadavg_before = machine(), loadavg()
    tag = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="portcullis-bench-") as directory:
        workdir = Path(directory)
        with database(workdir) as db:
            say(f"database: {db.kind}; migrating")
            migrate(db.url, workdir)
            say(f"raw bcrypt at cost {config.ROUNDS}, 1 process")
            bcrypt_one = bcrypt_rate(1)
            one_worker, seeded = measure_one_worker(db.url, workdir, tag)
            tail = measure_tail_latency(db.url, workdir, seeded)
            say(f"raw bcrypt at cost {config.ROUNDS}, {config.MORE_WORKERS} processes")
            bcrypt_more = bcrypt_rate(config.MORE_WORKERS)
            more_workers = measure_more_workers(db.url, workdir, seeded)
        results = BenchResults(
            started_utc=started_utc,
            database=db.kind,
            machine=described,
            settings=SETTINGS,
            loadavg_before=loadavg_before,
            loadavg_after=loadavg(),
            elapsed_seconds=round(time.monotonic() - started, 1),
            bcrypt_one=bcrypt_one,
            bcrypt_more=bcrypt_more,
            one_worker=one_worker,
            tail=tail,
            more_workers=more_workers,
            logs_kept_in=None,
        )
        if any(served.logged_traceback for _, served in results.servers()):
            results = dataclasses.replace(results, logs_kept_in=_keep_logs(workdir))
    return results


def bench() -> int:
    results = measure()
    table, checked = report.rows(results), targets(results)
    written = report.write(results, table, checked)
    report.print_report(results, table, checked, written)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--profile",
        choices=sorted(SCRIPTS),
        help="sample one worker with py-spy under this workload instead",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print(f"bench: {config.WRK_MISSING}", file=sys.stderr)
        return 1
    try:
        return profile(args.profile) if args.profile else bench()
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # one clear line (and what the harness attached) is enough
        print(f"bench: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

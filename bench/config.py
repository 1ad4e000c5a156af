"""Where the bench finds its tools and writes its results, and the knobs of a run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
LUA_DIR = BENCH_DIR / "lua"  # wrk's workload scripts; wrk runs with this as its working directory
RESULTS_DIR = BENCH_DIR / "results"
BIN = Path(sys.executable).parent  # the venv's bin: portcullis, uvicorn, py-spy live here
PORTCULLIS = BIN / "portcullis"
UVICORN = BIN / "uvicorn"

SECONDS = int(os.environ.get("PORTCULLIS_BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("PORTCULLIS_BCRYPT_ROUNDS", "12"))
DATABASE_URL = os.environ.get("PORTCULLIS_BENCH_DATABASE_URL", "")

THREADS = 2  # wrk's threads in every workload but the /healthz probe
CONNECTIONS = 32  # the cheap workloads
# Login and signup: two requests per core keep every core hashing. No more: wrk counts the
# requests answered within the run, and the hashing done on those still in flight at its end is
# lost to the count (with 4 in flight, about 2 requests' worth: ~3 % of a 10 s login run at
# cost 12 on 2 cores, which is why the 2-worker login, held to 90 %, runs twice as long).
HASH_CONNECTIONS = 4
TAIL_CONNECTIONS = 16  # GET /users/me against one worker pinned to one core
ACCOUNTS = 16  # each costs a bcrypt hash and two verifies to seed
MORE_WORKERS = 2
BCRYPT_SECONDS = 5.0
PROBE_DELAY_MS = 10  # /healthz probe: one connection, a request every 10 ms at most

WRK_MISSING = (
    "wrk (the load generator) is missing: install Debian's package as root "
    "(`apt-get install wrk`), then run `make bench` again"
)

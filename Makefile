# Everything starts from a bare `python3`: the venv, uv inside it, then the locked dependencies.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint typecheck unit clean screenshots

install: $(STAMP)

# Bytecode is compiled at install time: a process that finds none (and may not write any, as
# under PYTHONDONTWRITEBYTECODE) compiles every module it imports, so each `serve` worker and
# each command would spend more than twice the CPU on starting.
$(STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --inexact --compile-bytecode --python $(BIN)/python
	@touch $(STAMP)

run: install
	@mkdir -p var
	$(BIN)/portcullis migrate
	$(BIN)/portcullis serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Two processes, one per core: most of the suite's time is spent waiting on servers, databases
# and a browser, which overlap well. Whole files go to one process, so a module's server or
# browser is started once.
test: lint
	$(BIN)/pytest -n 2 --dist loadfile

# The README's pictures of the pages (docs/screenshots/), taken in Debian's chromium, which must
# be installed (`apt-get install chromium`, as root).
screenshots: install
	$(BIN)/python -m tests.e2e.screenshots docs/screenshots

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

.PHONY: bench bench-load bench-login-timing bench-profile check-wrk
# The benchmark is not a test: neither `make test` nor CI runs it. It needs wrk, Debian's
# package of the load generator, which takes root to install (`apt-get install wrk`): this
# Makefile only looks for it. PORTCULLIS_BENCH_DATABASE_URL=postgresql+asyncpg://... runs it on a
# fresh PostgreSQL database made (and dropped) through that URL instead of SQLite.
bench: bench-load bench-login-timing

check-wrk:
	@command -v wrk >/dev/null 2>&1 || { echo "make bench: wrk is missing: as root, run \`apt-get install wrk\` (Debian's package), then make bench again" >&2; exit 1; }

# The service and a bare FastAPI endpoint under wrk, and GET /users/me's tail latency on one pinned
# worker: one table, the targets met or missed, results in bench/results/.
bench-load: install check-wrk
	$(BIN)/python -m bench.run

# An unknown email must cost the same hashing as a wrong password, or login times would tell
# which emails have accounts.
bench-login-timing: install
	$(BIN)/python -m bench.login_timing

# Where a worker's CPU goes under GET /users/me (PROFILE=patch: PATCH /users/me;
# PROFILE=introspect: POST /oauth2/introspect), by py-spy.
PROFILE ?= me
bench-profile: install check-wrk
	@test -x $(BIN)/py-spy || $(BIN)/python -m pip install --quiet --disable-pip-version-check py-spy
	$(BIN)/python -m bench.run --profile $(PROFILE)

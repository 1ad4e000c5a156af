"""The workloads of `make bench`, phase by phase: which server, which wrk script, how hard."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bench import config, wrk
from bench.proc import CpuWatch
from bench.results import MoreWorkers, OneWorker, Served, TailLatency, WrkRun
from bench.seed import Seeded, seed
from bench.server import (
    Server,
    register_client,
    served,
    serving,
    start_reference,
    start_service,
)
from bench.wrk import Load

# A refresh connection holds one token in flight, and each wrk thread keeps one spare (see
# bench/lua/refresh.lua): the seeded sessions bound the connections.
REFRESH_CONNECTIONS = min(config.CONNECTIONS, config.ACCOUNTS - config.THREADS)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _shared_out(lines: Path) -> tuple[str, ...]:
    """The arguments of a script whose wrk threads each take their share of a file's lines."""
    return str(lines), str(config.THREADS)


def _login(seeded: Seeded, seconds: int = config.SECONDS) -> Load:
    return Load(
        "login.lua",
        _shared_out(seeded.accounts),
        connections=config.HASH_CONNECTIONS,
        seconds=seconds,
        timeout_seconds=60,
    )


def measure_reference(workdir: Path, workers: int) -> tuple[WrkRun, Served]:
    """The bare endpoint, the ceiling every workload is compared with."""
    say(f"reference, {workers} worker{'s' if workers > 1 else ''}")
    with serving(start_reference(workdir, workers)) as reference:
        run = wrk.run(reference.base_url + "/ping", Load("plain.lua"), reference)
        memory = reference.memory()
    return run, served(reference, memory)


def login_with_probe(service: Server, seeded: Seeded) -> tuple[WrkRun, WrkRun]:
    """(the probe, the logins): logins at full load from one wrk; from a second, started a
    second later and stopped a second earlier, one connection asking /healthz every
    PROBE_DELAY_MS. Both runs share one CPU figure: the two loads ran at once."""
    logins = _login(seeded, seconds=config.SECONDS + 2)
    probe = Load("probe.lua", (str(config.PROBE_DELAY_MS),), connections=1, threads=1)
    watch = CpuWatch(service.worker_pids())
    with wrk.start(service.base_url, logins) as login_wrk:
        time.sleep(1)
        probe_printed = wrk.finish(wrk.start(service.base_url + "/healthz", probe), probe)
        login_printed = wrk.finish(login_wrk, logins)
    cpu = watch.share(login_printed.requests + probe_printed.requests)
    return probe_printed.run(probe, cpu), login_printed.run(logins, cpu)


def measure_one_worker(database_url: str, workdir: Path, tag: str) -> tuple[OneWorker, Seeded]:
    """Every workload against one worker; the accounts it seeded, for the later phases."""
    reference, reference_server = measure_reference(workdir, 1)
    oauth = register_client(database_url, workdir)
    say("portcullis, 1 worker: seeding accounts through the API and the pages")
    with serving(start_service(database_url, workdir, 1)) as service:
        url = service.base_url
        seeded = seed(url, oauth, tag, config.ACCOUNTS, workdir)
        tokens = _shared_out(seeded.access_tokens)
        say("GET /users/me")
        me = wrk.run(url, Load("me.lua", tokens), service)
        say("PATCH /users/me")
        patch_me = wrk.run(url, Load("patch_me.lua", tokens), service)
        service.settle()
        say("POST /oauth2/introspect")
        introspection = (*_shared_out(seeded.oauth_access_tokens), oauth.basic_credentials)
        introspect = wrk.run(url, Load("introspect.lua", introspection), service)
        service.settle()
        say("signup")
        signup_args = (tag, f"signup-{tag}-Tr0mbone-quartz")
        signup = Load(
            "signup.lua", signup_args, connections=config.HASH_CONNECTIONS, timeout_seconds=60
        )
        signed_up = wrk.run(url, signup, service)
        service.settle()
        say("login")
        login = wrk.run(url, _login(seeded), service)
        service.settle()
        say("/healthz while logins run")
        healthz, login_beside_probe = login_with_probe(service, seeded)
        service.settle()
        say("refresh")
        refresh_tokens = _shared_out(seeded.refresh_tokens)
        refresh = Load("refresh.lua", refresh_tokens, connections=REFRESH_CONNECTIONS)
        refreshed = wrk.run(url, refresh, service)
        service.settle()
        memory = service.memory()
    one_worker = OneWorker(
        reference=reference,
        reference_server=reference_server,
        me=me,
        patch_me=patch_me,
        introspect=introspect,
        signup=signed_up,
        login=login,
        healthz_under_login=healthz,
        login_with_probe=login_beside_probe,
        refresh=refreshed,
        service=served(service, memory),
    )
    return one_worker, seeded


def _split_cpus() -> tuple[int, tuple[int, ...]]:
    """(the service's CPU, wrk's CPUs): the last CPU this process may use for the service,
    the others for wrk, so the load generator never takes the service's core; on one CPU,
    both share it."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[-1], tuple(cpus[:-1]) or (cpus[-1],)


def measure_tail_latency(database_url: str, workdir: Path, seeded: Seeded) -> TailLatency:
    """GET /users/me from TAIL_CONNECTIONS connections against one worker on one CPU, wrk kept
    off that CPU: the latency clients see from a busy worker that the load generator does not
    slow down."""
    service_cpu, wrk_cpus = _split_cpus()
    say(f"tail latency: GET /users/me, 1 worker on CPU {service_cpu}")
    load = Load(
        "me.lua",
        _shared_out(seeded.access_tokens),
        connections=config.TAIL_CONNECTIONS,
        cpus=wrk_cpus,
    )
    with serving(start_service(database_url, workdir, 1, cpus=(service_cpu,))) as service:
        me = wrk.run(service.base_url, load, service)
        service.settle()
        memory = service.memory()
    return TailLatency(service_cpu, wrk_cpus, me, served(service, memory))


def measure_more_workers(database_url: str, workdir: Path, seeded: Seeded) -> MoreWorkers:
    workers = config.MORE_WORKERS
    reference, reference_server = measure_reference(workdir, workers)
    say(f"portcullis, {workers} workers: GET /users/me, login")
    with serving(start_service(database_url, workdir, workers)) as service:
        me = wrk.run(service.base_url, Load("me.lua", _shared_out(seeded.access_tokens)), service)
        service.settle()
        # Twice as long as the other logins: it is held to 90 % of raw bcrypt, and the requests
        # wrk abandons at the end weigh half as much on a longer run.
        login = wrk.run(service.base_url, _login(seeded, seconds=2 * config.SECONDS), service)
        service.settle()
        memory = service.memory()
    return MoreWorkers(
        workers=workers,
        reference=reference,
        reference_server=reference_server,
        me=me,
        login=login,
        service=served(service, memory),
    )

"""`portcullis serve`: uvicorn, with one worker or with a supervisor over several."""

from __future__ import annotations

import contextlib
import signal
import sys

import structlog
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from entrypoints.settings import ENV_PREFIX, Settings

APP_FACTORY = "entrypoints.http.app:create_app_from_environment"

log = structlog.get_logger("portcullis.supervisor")


class WorkerSupervisor(Multiprocess):
    """uvicorn's supervisor, reporting each worker it had to replace as an error.

    uvicorn replaces a worker that died or that did not answer its health check in time, but
    says so only at info level, which a service running at WARNING never shows: a worker
    killed over and over again while starting would look like a server that is merely slow."""

    def keep_subprocess_alive(self) -> None:
        # Asked before uvicorn's health check, which kills a running worker that stays silent.
        checked = [(worker, worker.process.is_alive()) for worker in self.processes]
        super().keep_subprocess_alive()
        for worker, was_running in checked:
            if worker not in self.processes:
                self._report_replaced(worker.pid, worker.exitcode, was_running=was_running)

    def _report_replaced(self, pid: int | None, exitcode: int | None, *, was_running: bool) -> None:
        timeout = self.config.timeout_worker_healthcheck
        if was_running and exitcode == -signal.SIGKILL:
            reason = (
                f"it did not answer the health check within {timeout} s and was killed "
                f"({ENV_PREFIX}WORKER_HEALTHCHECK_TIMEOUT_SECONDS)"
            )
        elif exitcode is not None and exitcode < 0:
            reason = f"it was killed by {signal.Signals(-exitcode).name}"
        else:
            reason = f"it exited with code {exitcode}"
        log.error("worker_died", pid=pid, exitcode=exitcode, reason=reason)


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=settings.worker_healthcheck_timeout_seconds,
        log_config=None,
        access_log=False,
        server_header=False,
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; we believe only the
        # proxies the operator listed.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
    )
    # What uvicorn.run does for these two cases, with our supervisor in place of its own.
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        if workers > 1:
            WorkerSupervisor(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    if workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)

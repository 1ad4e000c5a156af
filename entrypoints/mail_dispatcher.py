"""The outbox dispatcher that runs inside `serve`: every few seconds, send what is due."""

from __future__ import annotations

import asyncio

import structlog

from application.errors import StorageUnavailable
from application.use_cases.dispatch_outbox import BATCH_SIZE, DispatchOutbox, DispatchOutboxCommand

log = structlog.get_logger("portcullis.mail")


async def dispatch_forever(dispatch: DispatchOutbox, interval_seconds: float) -> None:
    while True:
        try:
            report = await dispatch.execute(DispatchOutboxCommand())
        except StorageUnavailable:
            report = None  # /readyz reports it; the mail waits for the database
        except Exception:
            log.exception("mail_dispatch_failed")
            report = None
        if report is not None and report.attempted:
            log.info("mail_dispatched", sent=report.sent, failed=report.failed)
        if report is None or report.attempted < BATCH_SIZE:
            await asyncio.sleep(interval_seconds)


async def dispatch_until_idle(dispatch: DispatchOutbox) -> tuple[int, int]:
    """One-shot, for `portcullis mail dispatch`: send every due message, then stop."""
    sent = failed = 0
    while True:
        report = await dispatch.execute(DispatchOutboxCommand())
        sent += report.sent
        failed += report.failed
        if report.attempted < BATCH_SIZE:
            return sent, failed

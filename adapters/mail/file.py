"""One RFC 5322 .eml file per message in a folder: for development, tests and demos."""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import os
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from adapters.mail.message import build_deliverable, check_sender
from application.ports.mail import MailDeliveryFailed, MailMessage


class FileMailer:
    def __init__(self, directory: Path, sender: str) -> None:
        check_sender(sender)
        self._directory = directory
        self._sender = sender

    async def send(self, message: MailMessage) -> None:
        # CRLF line endings, as RFC 5322 has them.
        content = build_deliverable(message, self._sender).as_bytes(policy=email.policy.SMTP)
        try:
            await asyncio.to_thread(self._write, content)
        except OSError as error:
            raise MailDeliveryFailed(
                f"could not write mail to {self._directory}: {error.strerror or error}"
            ) from error

    def _write(self, content: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        # Sorts by time; the random part keeps two messages of the same microsecond apart.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self._directory / f"{stamp}-{secrets.token_hex(8)}.eml"
        # Written beside the target, then renamed over it: a reader of *.eml never sees half a
        # message, and a crash leaves at most a stray dot-file.
        fd, temporary = tempfile.mkstemp(dir=self._directory, prefix=".", suffix=".eml.tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(content)
                file.flush()
                # The outbox counts a message sent once this returns: it must survive a crash.
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _fsync_directory(self._directory)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

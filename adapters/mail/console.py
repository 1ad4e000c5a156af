"""For development: print each whole message, links and all, to the terminal."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TextIO

from adapters.mail.message import build_deliverable, check_sender
from application.ports.mail import MailMessage

_BANNER = "=" * 30

DEFAULT_SENDER = "Portcullis <portcullis@localhost>"


class ConsoleMailer:
    """Writes straight to a stream, never through logging: these messages carry single-use
    tokens, and log lines never do."""

    def __init__(self, stream: TextIO | None = None, sender: str = DEFAULT_SENDER) -> None:
        check_sender(sender)
        # None means sys.stdout as it is when sending, not as it was at import (pytest's
        # capture, contextlib.redirect_stdout).
        self._stream = stream
        self._sender = sender
        self._lock = threading.Lock()

    async def send(self, message: MailMessage) -> None:
        # Bytes and back: as_string() would base64 a non-ASCII body; as_bytes() keeps it 8-bit.
        raw = build_deliverable(message, self._sender).as_bytes().decode("utf-8", "replace")
        text = f"{_BANNER} mail to {message.to} {_BANNER}\n{raw}{_BANNER} end of mail {_BANNER}\n"
        await asyncio.to_thread(self._write, text)

    def _write(self, text: str) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        # Two messages sent at once must not interleave on the terminal.
        with self._lock:
            stream.write(text)
            stream.flush()

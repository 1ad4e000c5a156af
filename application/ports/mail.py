"""The port to whatever delivers email (a console, a folder of .eml files, an SMTP server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MailMessage:
    """One email, already composed: a plain-text body and an HTML alternative."""

    to: str
    subject: str
    text: str
    html: str


class MailDeliveryFailed(Exception):
    """The message was not delivered; it may be tried again later. The message is safe to log:
    it never holds the email's content."""


class Mailer(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Deliver the message, or raise MailDeliveryFailed. Never blocks the event loop."""

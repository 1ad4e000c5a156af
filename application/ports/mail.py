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
    """The message was not delivered. `permanent` says trying again cannot help (the server
    refused the recipient for good, or the message cannot be built). The exception's text is
    safe to log: it never holds the email's content or a credential."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Mailer(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Deliver the message, or raise MailDeliveryFailed. Never blocks the event loop."""

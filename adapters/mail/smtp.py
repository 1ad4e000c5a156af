"""Deliver through an SMTP server (a relay or a provider), optionally with STARTTLS and AUTH."""

from __future__ import annotations

import ssl

import aiosmtplib

from adapters.mail.message import build_deliverable, check_sender
from application.ports.mail import MailDeliveryFailed, MailMessage

_MAX_DESCRIPTION = 200


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        starttls: bool,
        sender: str,
        timeout: float = 10,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """tls_context: whom to trust for STARTTLS; None is the system's certificate store."""
        if username is not None and password is None:
            raise ValueError("an SMTP username needs a password")
        check_sender(sender)
        self._host = host
        self._port = port
        self._username = username
        self._password = password if username is not None else None
        self._starttls = starttls
        self._sender = sender
        self._timeout = timeout
        self._tls_context = tls_context

    def __repr__(self) -> str:
        # No password here: a mailer may end up in a log line or a traceback's locals.
        return (
            f"SmtpMailer(host={self._host!r}, port={self._port}, username={self._username!r}, "
            f"starttls={self._starttls})"
        )

    async def send(self, message: MailMessage) -> None:
        email_message = build_deliverable(message, self._sender)
        try:
            # Envelope sender and recipient come from the From and To headers.
            await aiosmtplib.send(
                email_message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=False,
                start_tls=self._starttls,
                tls_context=self._tls_context,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            # from None: the chained exception could carry the server's reply, and this
            # message must be safe to log (no password, no message content).
            raise MailDeliveryFailed(
                f"SMTP delivery through {self._host}:{self._port} failed: {_describe(error)}",
                permanent=_refused_for_good(error),
            ) from None


def _refused_for_good(error: Exception) -> bool:
    # Only the recipient's own 5xx refusal ends the retries: a 5xx to our login or sender
    # is a configuration fault, and dropping every message for it would lose mail.
    return isinstance(error, aiosmtplib.SMTPRecipientsRefused) and all(
        refusal.code >= 500 for refusal in error.recipients
    )


def _describe(error: Exception) -> str:
    # A server's reply is given by its code only: its text is the server's to choose and might
    # quote what it was sent. Other errors are worded by aiosmtplib or the OS.
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{type(error).__name__} ({error.code})"
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = ", ".join(str(refusal.code) for refusal in error.recipients)
        return f"{type(error).__name__} ({codes})"
    return f"{type(error).__name__}: {error}"[:_MAX_DESCRIPTION]

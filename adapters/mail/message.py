"""Turn a MailMessage into a standard-library EmailMessage: plain text plus HTML, UTF-8."""

from __future__ import annotations

import email.errors
import email.policy
import email.utils
import unicodedata
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage

from application.ports.mail import MailDeliveryFailed, MailMessage

# RFC 5322's hard limit on a line, in octets, not counting CRLF.
_MAX_LINE_OCTETS = 998
# Line and paragraph separators, and control characters (CR and LF among them): in a header
# some readers would take one for the end of the line.
_UNSAFE_IN_HEADER = frozenset({"Cc", "Zl", "Zp"})


def build_email(message: MailMessage, sender: str) -> EmailMessage:
    """Raises ValueError when the sender or recipient is not one email address, or when a
    header would carry a line break (header injection)."""
    from_address = _single_address("From", sender)
    to_address = _single_address("To", message.to)
    _refuse_unsafe_characters("Subject", message.subject)

    email_message = EmailMessage(policy=email.policy.default)
    email_message["From"] = from_address
    email_message["To"] = to_address
    email_message["Subject"] = message.subject
    # "+0000", UTC; formatdate(localtime=False) would write "-0000", which RFC 5322 reads as
    # "time zone unknown".
    email_message["Date"] = email.utils.format_datetime(datetime.now(UTC))
    # Given a domain, make_msgid does not look up this host's name (slow without DNS).
    email_message["Message-ID"] = email.utils.make_msgid(domain=from_address.domain)
    email_message.set_content(message.text, cte=_transfer_encoding(message.text))
    email_message.add_alternative(
        message.html, subtype="html", cte=_transfer_encoding(message.html)
    )
    return email_message


def check_sender(sender: str) -> None:
    """Raises ValueError unless the sender is one email address: mailers call it when built, so
    a bad setting stops the service at start rather than failing every message later."""
    _single_address("From", sender)


def _single_address(header: str, value: str) -> Address:
    _refuse_unsafe_characters(header, value)
    try:
        parsed = email.policy.default.header_factory(header, value)
        addresses = parsed.addresses
        defects = parsed.defects
    # The standard library's address parser raises IndexError on some input ("a@").
    except (email.errors.HeaderParseError, IndexError, ValueError):
        addresses, defects = (), ()
    if len(addresses) != 1 or defects or not addresses[0].username or not addresses[0].domain:
        raise ValueError(f"{header} must be exactly one email address")
    address = addresses[0]
    return Address(
        display_name=address.display_name,
        username=address.username,
        domain=_ascii_domain(address.domain),
    )


def _ascii_domain(domain: str) -> str:
    # Accounts may have Unicode domains (domain/email.py keeps them so). Without SMTPUTF8 an
    # address header cannot carry them, and the standard library would write an invalid
    # encoded-word instead; an A-label (punycode) is understood everywhere. Per label, not the
    # "idna" codec, which is IDNA 2003 and would turn straße into strasse, another domain.
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        for label in domain.split(".")
    )


def _refuse_unsafe_characters(header: str, value: str) -> None:
    # The email policy already refuses CR and LF; this also refuses the other line breaks.
    if any(unicodedata.category(ch) in _UNSAFE_IN_HEADER for ch in value):
        raise ValueError(f"{header} must not contain line breaks or control characters")


def _transfer_encoding(body: str) -> str | None:
    # Left to itself, the email package quoted-printables any line over 78 characters, and a
    # long link in a raw .eml or on the console then reads "token=3D..." split by soft breaks:
    # unclickable. 7bit/8bit keep the link whole; an SMTP server without 8BITMIME still gets
    # 7-bit, since aiosmtplib re-encodes for it.
    if any(len(line) > _MAX_LINE_OCTETS for line in body.encode("utf-8").splitlines()):
        return None
    return "7bit" if body.isascii() else "8bit"


def build_deliverable(message: MailMessage, sender: str) -> EmailMessage:
    """build_email, with a message that cannot be built refused for good (no retry helps)."""
    try:
        return build_email(message, sender)
    except ValueError as error:
        raise MailDeliveryFailed(f"the message cannot be sent: {error}", permanent=True) from None

"""The email address value object: trimmed, lower-cased, syntax-checked (no DNS look-ups)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import InvalidEmail

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64

# RFC 5322 dot-atom for the local part (quoted strings are refused: nobody needs them to log in).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL_PART = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*\Z")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")


@dataclass(frozen=True, slots=True)
class Email:
    value: str

    @classmethod
    def parse(cls, raw: str) -> Email:
        candidate = raw.strip().lower()
        if not candidate or len(candidate) > MAX_EMAIL_LENGTH:
            raise InvalidEmail(f"must be 1 to {MAX_EMAIL_LENGTH} characters")
        if any(ch.isspace() or not ch.isprintable() for ch in candidate):
            raise InvalidEmail("must not contain spaces or control characters")
        local, at, domain = candidate.rpartition("@")
        if not at or not local or not domain:
            raise InvalidEmail()
        if len(local) > MAX_LOCAL_PART_LENGTH or not _LOCAL_PART.match(local):
            raise InvalidEmail()
        _check_domain(domain)
        return cls(candidate)

    def __str__(self) -> str:
        return self.value


def _check_domain(domain: str) -> None:
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise InvalidEmail() from error
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_DNS_LABEL.match(label) for label in labels):
        raise InvalidEmail()
    if labels[-1].isdigit():
        raise InvalidEmail()

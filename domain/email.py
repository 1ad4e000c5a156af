"""The email address value object: trimmed, lower-cased, syntax-checked (no DNS look-ups)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.errors import InvalidEmail

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64

# RFC 5322 dot-atom for the local part (quoted strings are refused: nobody needs them to log in).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL_PART = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*\Z")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
# Only ordinary white space is trimmed: str.strip() would also eat \x1c-\x1f, which are
# control characters, and an email with one is refused.
_TRIMMED = " \t\r\n"
# Full stops that IDNA treats as label separators (ideographic, fullwidth, halfwidth).
_IDNA_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


@dataclass(frozen=True, slots=True)
class Email:
    value: str

    @classmethod
    def parse(cls, raw: str) -> Email:
        candidate = raw.strip(_TRIMMED).lower()
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in candidate):
            raise InvalidEmail("must not contain control characters")
        if not candidate or len(candidate) > MAX_EMAIL_LENGTH:
            raise InvalidEmail(f"must be 1 to {MAX_EMAIL_LENGTH} characters")
        if any(ch.isspace() or not ch.isprintable() for ch in candidate):
            raise InvalidEmail("must not contain spaces or control characters")
        local, at, domain = candidate.rpartition("@")
        if not at or not local or not domain:
            raise InvalidEmail()
        if len(local) > MAX_LOCAL_PART_LENGTH or not _LOCAL_PART.match(local):
            raise InvalidEmail()
        normalised = f"{local}@{_canonical_domain(domain)}"
        if len(normalised) > MAX_EMAIL_LENGTH:
            raise InvalidEmail(f"must be 1 to {MAX_EMAIL_LENGTH} characters")
        return cls(normalised)

    def __str__(self) -> str:
        return self.value


def _canonical_domain(domain: str) -> str:
    """One spelling per domain, so look-alike spellings of a taken address are taken too:
    compatibility forms folded (fullwidth letters, IDNA's other full stops), punycode labels
    shown as Unicode. It is not passed through IDNA 2003's mapping, which would merge
    `straße` into `strasse` — two different domains today."""
    folded = unicodedata.normalize("NFKC", domain).translate(_IDNA_DOTS).lower()
    labels = folded.split(".")
    try:
        unicode_labels = [
            label[4:].encode("ascii").decode("punycode") if label.startswith("xn--") else label
            for label in labels
        ]
        ascii_labels = [label.encode("idna").decode("ascii") for label in unicode_labels]
    except UnicodeError as error:
        raise InvalidEmail() from error
    if len(ascii_labels) < 2 or not all(_DNS_LABEL.match(label) for label in ascii_labels):
        raise InvalidEmail()
    if ascii_labels[-1].isdigit():
        raise InvalidEmail()
    return unicodedata.normalize("NFC", ".".join(unicode_labels).lower())

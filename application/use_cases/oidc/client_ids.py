"""What a client id can look like, so that text which cannot be one is answered without asking
the database (which may refuse some characters, PostgreSQL a NUL, outright)."""

from __future__ import annotations

import re

_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def could_be_client_id(text: str) -> bool:
    return _CLIENT_ID.fullmatch(text) is not None

"""The common-password list, taken from zxcvbn's bundled frequency lists (30,000 passwords)."""

from __future__ import annotations

from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS


@cache
def common_passwords() -> frozenset[str]:
    return frozenset(password.lower() for password in FREQUENCY_LISTS["passwords"])

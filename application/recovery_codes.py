"""Recovery codes: ten single-use codes shown once, for a lost authenticator. Stored hashed;
a presented code is compared against every unused one in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from domain.second_factor import RecoveryCode

# 16 characters of 32 (80 bits): a stolen table of their SHA-256 hashes cannot be reversed,
# and a person can still type one.
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l, o, 0, 1: nothing to misread
_GROUPS, _GROUP_LENGTH = 4, 4


def new_recovery_code() -> str:
    groups = (
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
    )
    return "-".join(groups)


def hash_recovery_code(code: str) -> str:
    normalised = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()


def matching_recovery_code(presented: str, unused: list[RecoveryCode]) -> RecoveryCode | None:
    """The unused code that was presented, compared with each of them so that the time taken
    does not depend on which one (if any) matched."""
    presented_hash = hash_recovery_code(presented)
    found = None
    for code in unused:
        if hmac.compare_digest(presented_hash, code.code_hash):
            found = code
    return found

"""Proof Key for Code Exchange (RFC 7636), S256 only: the client sends a hash of a secret
verifier with the authorization request, and the verifier itself with the code, so that a code
intercepted on its way back is of no use to whoever holds it without the verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

# RFC 7636 §4.1: 43 to 128 unreserved characters.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# The challenge is base64url(sha256(verifier)) without padding: 32 bytes in 43 characters.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{42}[AEIMQUYcgkosw048]")


def is_valid_verifier(verifier: str) -> bool:
    return _VERIFIER.fullmatch(verifier) is not None


def is_valid_s256_challenge(challenge: str) -> bool:
    """Whether the challenge could be an S256 hash at all (43 characters whose last encodes the
    32nd byte's final bits, the padding bits zero)."""
    return _S256_CHALLENGE.fullmatch(challenge) is not None


def s256_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifies_s256(verifier: str, challenge: str) -> bool:
    """Whether the verifier is well formed and hashes to the challenge, compared in constant
    time."""
    if not is_valid_verifier(verifier):
        return False
    return hmac.compare_digest(s256_challenge(verifier).encode(), challenge.encode())

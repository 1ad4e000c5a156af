"""Opaque secrets handed to a person (refresh tokens, links in emails) and stored only hashed."""

from __future__ import annotations

import hashlib
import secrets

SECRET_TOKEN_BYTES = 32  # 256 bits


def new_secret_token() -> str:
    return secrets.token_urlsafe(SECRET_TOKEN_BYTES)


def hash_secret_token(token: str) -> str:
    # 256 random bits: a fast unsalted hash is enough to make a stolen table useless, and a
    # slow one would only cost every refresh.
    return hashlib.sha256(token.encode()).hexdigest()

"""The credentials of an OAuth client: its public id, and the secret of a confidential one,
stored only hashed."""

from __future__ import annotations

import hmac
import secrets

from application.secret_tokens import hash_secret_token, new_secret_token

CLIENT_ID_BYTES = 16  # 128 bits: not a secret, but never guessed or reused


def new_client_id() -> str:
    return secrets.token_urlsafe(CLIENT_ID_BYTES)


def new_client_secret() -> str:
    """256 random bits, URL-safe."""
    return new_secret_token()


def hash_client_secret(secret: str) -> str:
    return hash_secret_token(secret)


def client_secret_matches(presented: str, secret_hash: str | None) -> bool:
    """Whether a presented secret is the client's, in time that does not depend on how much of
    it is right. A public client (no hash) has no secret to match."""
    if secret_hash is None:
        return False
    return hmac.compare_digest(hash_client_secret(presented), secret_hash)

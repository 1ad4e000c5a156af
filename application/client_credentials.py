"""The credentials of an OAuth client: its public id, and the secret of a confidential one,
stored only hashed."""

from __future__ import annotations

import hmac
import uuid

from application.secret_tokens import hash_secret_token, new_secret_token


def new_client_id() -> str:
    """A random UUID, as every id of the API is: not a secret, and says nothing about when or
    in what order clients were made."""
    return str(uuid.uuid4())


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

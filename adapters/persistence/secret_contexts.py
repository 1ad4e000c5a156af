"""The context each sealed column binds its values to (see application/ports/security.py's
SecretSealer): the table's purpose and the row's key. Every reader and writer of a sealed column
takes its context from here, so that what one seals the other opens."""

from __future__ import annotations

from uuid import UUID


def signing_key_context(kid: str) -> str:
    """`signing_keys.private_key_pem` of the key `kid`."""
    return f"signing_key:{kid}"


def totp_context(user_id: UUID) -> str:
    """`totp_factors.secret` of the account `user_id` (its canonical, hyphenated form)."""
    return f"totp:{user_id}"


def webhook_context(webhook_id: UUID) -> str:
    """`webhooks.secret` of the endpoint `webhook_id` (its canonical, hyphenated form)."""
    return f"webhook:{webhook_id}"

"""A key that signs tokens (the API's access tokens, ID tokens, OAuth access tokens); its public
half is published in the JWKS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Every algorithm the service signs with, RS256 first: OpenID Connect requires it of a provider
# and RFC 9068 of an issuer of access tokens. Each has an active key at all times, so a client
# registered with any of them is served without waiting for a key.
SIGNING_ALGORITHMS: tuple[str, ...] = ("RS256", "ES256", "EdDSA")


@dataclass(slots=True)
class SigningKey:
    kid: str
    algorithm: str
    private_key_pem: str = field(repr=False)
    public_jwk: dict[str, Any] = field(repr=False)
    created_at: datetime
    retired_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.retired_at is None

    def retire(self, now: datetime) -> None:
        if self.retired_at is None:
            self.retired_at = now

    def may_have_signed_a_live_token(self, now: datetime, token_lifetime: timedelta) -> bool:
        """A retired key stays published until every token it signed has expired."""
        return self.retired_at is None or now < self.retired_at + token_lifetime

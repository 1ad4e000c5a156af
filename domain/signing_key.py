"""A key that signs access tokens; its public half is published in the JWKS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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

"""What the passkey use cases share: the user handle, the options handed out, the view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.passkey import Passkey


def user_handle(user_id: UUID) -> bytes:
    """The WebAuthn user handle of an account: its id's 16 bytes, which say nothing personal."""
    return user_id.bytes


@dataclass(frozen=True, slots=True)
class PasskeyCeremony:
    """Options to hand the browser, and the id of the stored challenge they carry."""

    challenge_id: UUID
    public_key: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PasskeyView:
    id: UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool

    @classmethod
    def of(cls, passkey: Passkey) -> PasskeyView:
        return cls(
            id=passkey.id,
            name=passkey.name,
            created_at=passkey.created_at,
            last_used_at=passkey.last_used_at,
            backed_up=passkey.backed_up,
        )

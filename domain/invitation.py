"""An invitation: an admin asks someone to open an account, with a role chosen in advance.
No account exists until the invited person accepts; the link they are mailed is the only way
to accept, and it works once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from domain.email import Email
from domain.role import Role

INVITATION_LIFETIME = timedelta(days=7)


@dataclass(slots=True)
class Invitation:
    id: UUID
    email: Email
    role: Role
    name: str | None  # a suggestion: the person may change it when accepting
    token_hash: str
    invited_by: UUID | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None

    @classmethod
    def issue(
        cls,
        *,
        id: UUID,
        email: Email,
        role: Role,
        name: str | None,
        token_hash: str,
        invited_by: UUID | None,
        now: datetime,
    ) -> Invitation:
        return cls(
            id=id,
            email=email,
            role=role,
            name=name,
            token_hash=token_hash,
            invited_by=invited_by,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )

    def is_usable(self, now: datetime) -> bool:
        return self.accepted_at is None and now < self.expires_at

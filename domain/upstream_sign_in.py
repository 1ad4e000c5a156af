"""One sign-in through an upstream provider, between sending the browser there and its coming
back: what the callback must match (`state`, which only this browser holds, in a cookie, and
whose hash is kept here), prove (`code_verifier`) and check (`nonce`), and where it goes next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

# Long enough to sign in at the provider (a password, a second factor), short enough that a
# forgotten tab's request is not still good the next day.
UPSTREAM_SIGN_IN_LIFETIME = timedelta(minutes=10)


@dataclass(slots=True)
class UpstreamSignIn:
    """`link_user_id`: the signed-in account that asked to link the upstream account (from its
    console), rather than a sign-in."""

    id: UUID
    state_hash: str
    provider: str
    nonce: str
    code_verifier: str
    return_to: str | None
    link_user_id: UUID | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def begin(
        cls,
        *,
        id: UUID,
        state_hash: str,
        provider: str,
        nonce: str,
        code_verifier: str,
        return_to: str | None,
        link_user_id: UUID | None,
        now: datetime,
    ) -> UpstreamSignIn:
        return cls(
            id=id,
            state_hash=state_hash,
            provider=provider,
            nonce=nonce,
            code_verifier=code_verifier,
            return_to=return_to,
            link_user_id=link_user_id,
            created_at=now,
            expires_at=now + UPSTREAM_SIGN_IN_LIFETIME,
        )

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at

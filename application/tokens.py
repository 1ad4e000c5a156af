"""Token pairs: the short-lived access JWT and the opaque refresh token of a session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from application.ports.security import AccessTokenClaims, AccessTokens
from application.ports.system import IdGenerator
from domain.session import Session
from domain.user import User

# What the second step of a login takes, as `mfa_required` lists it.
MFA_METHODS = ("totp", "recovery_code")


@dataclass(frozen=True, slots=True)
class TokenLifetimes:
    access: timedelta
    refresh: timedelta


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


async def issue_token_pair(
    *,
    tokens: AccessTokens,
    ids: IdGenerator,
    lifetimes: TokenLifetimes,
    user: User,
    session: Session,
    refresh_token: str,
    now: datetime,
) -> TokenPair:
    claims = AccessTokenClaims(
        subject=user.id,
        session_id=session.id,
        token_id=ids.new_id(),
        role=user.role,
        issued_at=now,
        expires_at=now + lifetimes.access,
        amr=session.amr,
    )
    access_token = await tokens.issue(claims)
    return TokenPair(
        access_token=access_token,
        expires_in=int(lifetimes.access.total_seconds()),
        refresh_token=refresh_token,
        refresh_expires_in=max(0, int((session.expires_at - now).total_seconds())),
    )

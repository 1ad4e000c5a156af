"""Token pairs: the short-lived access JWT and the opaque refresh token of a session."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.ports.security import AccessTokenClaims, AccessTokens
from application.ports.system import IdGenerator
from domain.session import Session
from domain.user import User

REFRESH_TOKEN_BYTES = 32  # 256 bits


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


def new_refresh_token() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(token: str) -> str:
    # The token is 256 random bits, so a fast unsalted hash is enough to make a stolen
    # table useless; a slow hash would only cost every refresh.
    return hashlib.sha256(token.encode()).hexdigest()


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
    )
    access_token = await tokens.issue(claims)
    return TokenPair(
        access_token=access_token,
        expires_in=int(lifetimes.access.total_seconds()),
        refresh_token=refresh_token,
        refresh_expires_in=max(0, int((session.expires_at - now).total_seconds())),
    )

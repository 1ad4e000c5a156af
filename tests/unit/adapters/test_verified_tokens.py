"""The verified-token cache on a fake clock: what it returns, for how long, and what it drops."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from adapters.security.verified_tokens import VERIFIED_TOKENS_SIZE, VerifiedTokens
from application.ports.security import AccessTokenClaims
from domain.auth_method import PASSWORD_ONLY
from domain.role import Role
from tests.fakes import FixedClock

LEEWAY = timedelta(seconds=10)


def claims_expiring_in(clock: FixedClock, lifetime: timedelta) -> AccessTokenClaims:
    return AccessTokenClaims(
        subject=uuid4(),
        session_id=uuid4(),
        token_id=uuid4(),
        role=Role.USER,
        issued_at=clock.now(),
        expires_at=clock.now() + lifetime,
        amr=PASSWORD_ONLY,
    )


def remember(
    verified: VerifiedTokens[AccessTokenClaims], clock: FixedClock, token: str, kid: str = "k1"
) -> None:
    claims = claims_expiring_in(clock, timedelta(minutes=15))
    verified.remember(token, claims, kid=kid, until=claims.expires_at + LEEWAY)


def test_a_token_never_remembered_is_not_found(clock: FixedClock) -> None:
    assert VerifiedTokens[AccessTokenClaims](clock).get("header.payload.signature") is None


def test_a_remembered_token_is_found_until_the_clock_reaches_its_time(clock: FixedClock) -> None:
    verified = VerifiedTokens[AccessTokenClaims](clock)
    claims = claims_expiring_in(clock, timedelta(seconds=60))
    verified.remember("token", claims, kid="k1", until=claims.expires_at + LEEWAY)

    clock.advance(seconds=69.999)
    assert verified.get("token") == claims

    clock.advance(seconds=0.001)
    assert verified.get("token") is None
    assert len(verified) == 0  # and it is gone, not only hidden


def test_a_token_is_found_by_its_exact_text_only(clock: FixedClock) -> None:
    verified = VerifiedTokens[AccessTokenClaims](clock)
    remember(verified, clock, "aaa.bbb.ccc")

    assert verified.get("aaa.bbb.ccd") is None
    assert verified.get("aaa.bbb.cc") is None
    assert verified.get(" aaa.bbb.ccc") is None


def test_the_size_is_bounded_and_the_oldest_goes_first(clock: FixedClock) -> None:
    verified = VerifiedTokens[AccessTokenClaims](clock, size=2)
    for token in ("first", "second", "third"):
        remember(verified, clock, token)

    assert len(verified) == 2
    assert verified.get("first") is None
    assert verified.get("second") is not None
    assert verified.get("third") is not None


def test_remembering_a_token_again_pushes_nothing_out(clock: FixedClock) -> None:
    verified = VerifiedTokens[AccessTokenClaims](clock, size=2)
    for token in ("first", "second", "first"):
        remember(verified, clock, token)

    assert verified.get("first") is not None
    assert verified.get("second") is not None


def test_forgetting_keys_forgets_exactly_the_tokens_they_signed(clock: FixedClock) -> None:
    verified = VerifiedTokens[AccessTokenClaims](clock)
    remember(verified, clock, "by-k1", kid="k1")
    remember(verified, clock, "by-k2", kid="k2")
    remember(verified, clock, "by-k3", kid="k3")

    verified.forget_keys(frozenset({"k1", "k3"}))

    assert verified.get("by-k1") is None
    assert verified.get("by-k2") is not None
    assert verified.get("by-k3") is None


def test_the_default_bound(clock: FixedClock) -> None:
    verified = VerifiedTokens[AccessTokenClaims](clock)
    for number in range(VERIFIED_TOKENS_SIZE + 10):
        remember(verified, clock, f"token-{number}")

    assert len(verified) == VERIFIED_TOKENS_SIZE == 4096
    assert verified.get("token-9") is None
    assert verified.get("token-10") is not None

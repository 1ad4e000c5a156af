"""Which claims about the person the granted scopes release (OpenID Connect Core §5.4), and how
they are written: updated_at a number, a claim without a value left out."""

from __future__ import annotations

from datetime import UTC, datetime

from application.oidc_tokens import UserClaims
from tests.fakes import FixedClock
from tests.unit.builders import Accounts


async def test_profile_releases_name_and_updated_at_and_email_the_address_and_its_state(
    accounts: Accounts, clock: FixedClock
) -> None:
    user = await accounts.user("ada@example.com", name="Ada", is_verified=True)

    assert UserClaims.released(user, {"openid"}).as_claims() == {}
    assert UserClaims.released(user, {"openid", "profile"}).as_claims() == {
        "name": "Ada",
        "updated_at": int(clock.now().timestamp()),
    }
    assert UserClaims.released(user, {"openid", "email"}).as_claims() == {
        "email": "ada@example.com",
        "email_verified": True,
    }


async def test_a_person_without_a_name_has_no_name_claim_rather_than_null(
    accounts: Accounts,
) -> None:
    user = await accounts.user("ada@example.com", name=None)

    claims = UserClaims.released(user, {"openid", "profile", "email"}).as_claims()

    assert "name" not in claims
    assert claims["email_verified"] is False


def test_updated_at_is_whole_seconds_since_the_epoch() -> None:
    claims = UserClaims(updated_at=datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC)).as_claims()

    assert claims == {"updated_at": 1767323045}

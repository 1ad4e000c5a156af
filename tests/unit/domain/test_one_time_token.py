from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.one_time_token import (
    MAX_TOKENS_PER_WINDOW,
    TOKEN_WINDOW,
    OneTimeToken,
    TokenPurpose,
    may_send_another,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def a_token(purpose: TokenPurpose = TokenPurpose.RESET_PASSWORD) -> OneTimeToken:
    return OneTimeToken.issue(
        id=UUID(int=2),
        user_id=UUID(int=1),
        purpose=purpose,
        token_hash="0" * 64,
        email="eve@example.com",
        now=T0,
    )


def test_a_new_token_remembers_whom_it_was_sent_to_and_is_unused() -> None:
    token = a_token()

    assert (token.id, token.user_id) == (UUID(int=2), UUID(int=1))
    assert token.token_hash == "0" * 64
    assert token.email == "eve@example.com"
    assert token.created_at == T0
    assert token.used_at is None


@pytest.mark.parametrize(
    ("purpose", "lifetime"),
    [
        (TokenPurpose.RESET_PASSWORD, timedelta(minutes=30)),
        (TokenPurpose.VERIFY_EMAIL, timedelta(hours=24)),
    ],
)
def test_a_token_is_usable_until_just_before_the_end_of_its_purposes_lifetime(
    purpose: TokenPurpose, lifetime: timedelta
) -> None:
    token = a_token(purpose)

    assert token.expires_at == T0 + lifetime
    assert token.is_usable(T0)
    assert token.is_usable(T0 + lifetime - timedelta(microseconds=1))
    assert not token.is_usable(T0 + lifetime)
    assert not token.is_usable(T0 + lifetime + timedelta(days=1))


def test_a_used_token_is_not_usable_even_before_it_expires() -> None:
    token = a_token()
    token.used_at = T0 + timedelta(minutes=1)

    assert not token.is_usable(T0 + timedelta(minutes=2))


def test_three_tokens_an_hour_may_be_sent_and_no_more() -> None:
    assert MAX_TOKENS_PER_WINDOW == 3
    assert timedelta(hours=1) == TOKEN_WINDOW
    assert [may_send_another(sent) for sent in range(5)] == [True, True, True, False, False]

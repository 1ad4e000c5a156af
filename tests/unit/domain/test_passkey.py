from __future__ import annotations

import pytest

from domain.passkey import sign_count_is_acceptable


@pytest.mark.parametrize(
    ("stored", "presented", "acceptable"),
    [
        (0, 0, True),  # an authenticator that keeps no counter, as synced passkeys do
        (0, 1, True),
        (5, 6, True),
        (5, 5, False),
        (5, 4, False),
        (5, 0, False),  # a counter that went back to 0 went back
        (1, 0, False),
    ],
)
def test_the_counter_must_increase_unless_both_are_zero(
    stored: int, presented: int, acceptable: bool
) -> None:
    assert sign_count_is_acceptable(stored, presented) is acceptable

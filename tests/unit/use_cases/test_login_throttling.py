"""Per-account throttling of password guesses: the rule of domain/login_throttle.py,
as LogIn applies it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.errors import InvalidCredentials, TooManyRequests
from application.use_cases.log_in import LogIn, LogInCommand
from domain.login_throttle import FailedLogins, LoginThrottlePolicy
from tests.fakes import FakePasswordHasher, FixedClock, InMemoryStore
from tests.unit.builders import THROTTLE, Accounts

PASSWORD = "the right passphrase"


async def _fail(log_in: LogIn, email: str, times: int) -> list[str]:
    outcomes = []
    for _ in range(times):
        try:
            await log_in.execute(LogInCommand(email, "a wrong guess"))
            outcomes.append("ok")
        except InvalidCredentials:
            outcomes.append("invalid_credentials")
        except TooManyRequests as throttled:
            outcomes.append(f"throttled:{throttled.retry_after_seconds}")
    return outcomes


async def test_after_max_failures_even_the_right_password_is_throttled(
    log_in: LogIn, accounts: Accounts, hasher: FakePasswordHasher
) -> None:
    await accounts.user("eve@example.com", password=PASSWORD)
    outcomes = await _fail(log_in, "eve@example.com", THROTTLE.max_failures)
    assert outcomes == ["invalid_credentials"] * THROTTLE.max_failures
    verifications = hasher.verifications
    with pytest.raises(TooManyRequests) as throttled:
        await log_in.execute(LogInCommand("eve@example.com", PASSWORD))
    assert throttled.value.retry_after_seconds == 15 * 60
    assert hasher.verifications == verifications  # refused before any hashing


async def test_unknown_and_known_emails_get_the_same_sequence_of_answers(
    log_in: LogIn, accounts: Accounts
) -> None:
    await accounts.user("eve@example.com", password=PASSWORD)
    known = await _fail(log_in, "eve@example.com", 13)
    unknown = await _fail(log_in, "nobody@example.com", 13)
    malformed = await _fail(log_in, "not an email", 13)
    assert known == unknown == malformed
    assert known[-1] == "throttled:900"


async def test_the_count_is_per_normalised_email(log_in: LogIn, accounts: Accounts) -> None:
    await accounts.user("eve@example.com", password=PASSWORD)
    await _fail(log_in, " EVE@Example.com ", THROTTLE.max_failures)
    with pytest.raises(TooManyRequests):
        await log_in.execute(LogInCommand("eve@example.com", PASSWORD))
    await accounts.user("bob@example.com", password=PASSWORD)
    assert (await log_in.execute(LogInCommand("bob@example.com", PASSWORD))).access_token


async def test_the_throttle_lifts_when_the_window_has_passed(
    log_in: LogIn, accounts: Accounts, clock: FixedClock
) -> None:
    await accounts.user("eve@example.com", password=PASSWORD)
    await _fail(log_in, "eve@example.com", THROTTLE.max_failures)
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(TooManyRequests) as throttled:
        await log_in.execute(LogInCommand("eve@example.com", PASSWORD))
    assert throttled.value.retry_after_seconds == 1
    clock.advance(seconds=1)
    assert (await log_in.execute(LogInCommand("eve@example.com", PASSWORD))).access_token


async def test_a_success_resets_the_count(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore
) -> None:
    await accounts.user("eve@example.com", password=PASSWORD)
    await _fail(log_in, "eve@example.com", THROTTLE.max_failures - 1)
    await log_in.execute(LogInCommand("eve@example.com", PASSWORD))
    assert store.login_failures == {}
    assert await _fail(log_in, "eve@example.com", THROTTLE.max_failures - 1) == [
        "invalid_credentials"
    ] * (THROTTLE.max_failures - 1)


async def test_no_email_that_was_tried_is_stored_in_clear(
    log_in: LogIn, store: InMemoryStore
) -> None:
    await _fail(log_in, "someone@example.com", 2)
    (key,) = store.login_failures
    assert "someone" not in key
    assert len(key) == 64


def test_the_policy_starts_a_new_window_when_the_old_one_is_over() -> None:
    clock = FixedClock()
    policy = LoginThrottlePolicy(max_failures=3, window=timedelta(minutes=1))
    record = None
    for _ in range(3):
        record = policy.after_failure(record, "k", clock.now())
    assert record == FailedLogins("k", 3, clock.now())
    assert policy.is_throttled(record, clock.now())
    clock.advance(minutes=1)
    assert not policy.is_throttled(record, clock.now())
    assert policy.after_failure(record, "k", clock.now()) == FailedLogins("k", 1, clock.now())
    assert not policy.is_throttled(None, clock.now())

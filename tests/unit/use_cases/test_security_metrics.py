"""The business metrics, counted by the use cases where they decide: every login attempt counts
once, by how it ended; every replay of a traded refresh token counts once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from application.errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
    TooManyRequests,
)
from application.ports.metrics import LoginOutcome
from application.secret_tokens import new_secret_token
from application.use_cases.log_in import LogIn, LogInCommand
from application.use_cases.refresh_tokens import RefreshTokens, RefreshTokensCommand
from domain.user import User
from tests.fakes import FakePasswordHasher, InMemoryStore, RecordingSecurityMetrics
from tests.unit.builders import PASSWORD, THROTTLE, Accounts


async def test_a_successful_login_counts_once_as_success(
    log_in: LogIn, accounts: Accounts, security_metrics: RecordingSecurityMetrics
) -> None:
    await accounts.user("eve@example.com")

    await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert security_metrics.logins == [LoginOutcome.SUCCESS]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param("eve@example.com", "not the password", id="wrong password"),
        pytest.param("nobody@example.com", PASSWORD, id="unknown email"),
        pytest.param("not an email", PASSWORD, id="malformed email"),
    ],
)
async def test_a_refused_password_counts_once_as_invalid_credentials(
    log_in: LogIn,
    accounts: Accounts,
    security_metrics: RecordingSecurityMetrics,
    email: str,
    password: str,
) -> None:
    await accounts.user("eve@example.com")

    with pytest.raises(InvalidCredentials):
        await log_in.execute(LogInCommand(email, password))

    assert security_metrics.logins == [LoginOutcome.INVALID_CREDENTIALS]


async def test_a_deactivated_account_counts_once_as_account_disabled(
    log_in: LogIn, accounts: Accounts, security_metrics: RecordingSecurityMetrics
) -> None:
    await accounts.user("eve@example.com", is_active=False)

    with pytest.raises(AccountDisabled):
        await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert security_metrics.logins == [LoginOutcome.ACCOUNT_DISABLED]


async def test_a_login_refused_by_the_per_account_throttle_counts_once_as_throttled(
    log_in: LogIn, accounts: Accounts, security_metrics: RecordingSecurityMetrics
) -> None:
    await accounts.user("eve@example.com")
    for _ in range(THROTTLE.max_failures):
        with pytest.raises(InvalidCredentials):
            await log_in.execute(LogInCommand("eve@example.com", "a wrong guess"))
    security_metrics.logins.clear()

    with pytest.raises(TooManyRequests):
        await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert security_metrics.logins == [LoginOutcome.THROTTLED]


async def change_the_password(user: User) -> None:
    user.password_hash = await FakePasswordHasher().hash("changed meanwhile")


async def deactivate(user: User) -> None:
    user.is_active = False


@pytest.mark.parametrize(
    ("change", "refusal", "outcome"),
    [
        pytest.param(
            change_the_password,
            InvalidCredentials,
            LoginOutcome.INVALID_CREDENTIALS,
            id="password changed",
        ),
        pytest.param(
            deactivate, AccountDisabled, LoginOutcome.ACCOUNT_DISABLED, id="account deactivated"
        ),
    ],
)
async def test_an_account_changed_while_its_password_was_checked_counts_once_as_the_refusal(
    log_in: LogIn,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    security_metrics: RecordingSecurityMetrics,
    change: Callable[[User], Awaitable[None]],
    refusal: type[Exception],
    outcome: LoginOutcome,
) -> None:
    eve = await accounts.user("eve@example.com")

    async def meanwhile() -> None:
        await change(store.users[eve.id])

    hasher.during_verify = meanwhile

    with pytest.raises(refusal):
        await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert security_metrics.logins == [outcome]


async def test_replaying_a_traded_refresh_token_counts_once_as_reuse(
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    security_metrics: RecordingSecurityMetrics,
) -> None:
    eve = await accounts.user()
    _, old_token = accounts.session_with_refresh_token(eve)
    await refresh_tokens.execute(RefreshTokensCommand(old_token))
    assert security_metrics.refresh_token_reuses == 0

    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(old_token))

    assert security_metrics.refresh_token_reuses == 1
    assert security_metrics.logins == []


async def test_an_unknown_refresh_token_is_not_counted_as_reuse(
    refresh_tokens: RefreshTokens, security_metrics: RecordingSecurityMetrics
) -> None:
    with pytest.raises(InvalidRefreshToken):
        await refresh_tokens.execute(RefreshTokensCommand(new_secret_token()))

    assert security_metrics.refresh_token_reuses == 0

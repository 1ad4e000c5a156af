"""The login-failure counter of the per-account throttle, on both databases."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from domain.login_throttle import FailedLogins, LoginThrottlePolicy
from tests.integration.builders import NOW
from tests.integration.conftest import UowFactory

POLICY = LoginThrottlePolicy(max_failures=10, window=timedelta(minutes=15))


async def _fail(uow_factory: UowFactory, key: str, at: datetime = NOW) -> FailedLogins:
    async with uow_factory() as uow:
        record = await uow.login_failures.record_failure(key, at, POLICY)
        await uow.commit()
    return record


async def test_failures_count_up_within_the_window_and_start_anew_after_it(
    uow_factory: UowFactory,
) -> None:
    assert await _fail(uow_factory, "k") == FailedLogins("k", 1, NOW)
    assert await _fail(uow_factory, "k", NOW + timedelta(minutes=5)) == FailedLogins("k", 2, NOW)
    later = NOW + timedelta(minutes=15)
    assert await _fail(uow_factory, "k", later) == FailedLogins("k", 1, later)
    async with uow_factory() as uow:
        assert await uow.login_failures.get("k") == FailedLogins("k", 1, later)
        assert await uow.login_failures.get("other") is None


async def test_clearing_forgets_the_count(uow_factory: UowFactory) -> None:
    await _fail(uow_factory, "k")
    async with uow_factory() as uow:
        await uow.login_failures.clear("k")
        await uow.login_failures.clear("never-seen")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.login_failures.get("k") is None


async def test_concurrent_failures_are_all_counted(uow_factory: UowFactory) -> None:
    results = await asyncio.gather(*(_fail(uow_factory, "k") for _ in range(25)))
    assert sorted(r.failures for r in results) == list(range(1, 26))
    async with uow_factory() as uow:
        record = await uow.login_failures.get("k")
    assert record is not None
    assert record.failures == 25

"""The second factor's repositories on SQLite and PostgreSQL: each "use it once" holds when
many transactions try at the same moment."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork
from application.errors import MfaAlreadyEnabled
from application.recovery_codes import hash_recovery_code
from domain.auth_method import PASSWORD_ONLY, UPSTREAM_ONLY, AuthMethods
from domain.second_factor import MAX_WRONG_CODES, MfaChallenge, RecoveryCode, TotpFactor
from tests.integration.builders import NOW, a_user
from tests.integration.conftest import Persist

UowFactory = Callable[[], SqlAlchemyUnitOfWork]
RACERS = 12


async def race(attempt: Callable[[], Awaitable[bool]]) -> list[bool]:
    results = await asyncio.gather(*(attempt() for _ in range(RACERS)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    return [r for r in results if isinstance(r, bool)]


async def enabled_factor(uow_factory: UowFactory, persist: Persist) -> TotpFactor:
    user = a_user()
    await persist(user)
    factor = TotpFactor(user_id=user.id, secret="JBSWY3DPEHPK3PXP" * 2, created_at=NOW)
    async with uow_factory() as uow:
        await uow.totp.put_pending(factor)
        assert await uow.totp.confirm(factor, step=100, now=NOW)
        await uow.commit()
    return factor


async def test_a_pending_factor_is_confirmed_once_and_remembers_its_step(
    uow_factory: UowFactory, persist: Persist
) -> None:
    factor = await enabled_factor(uow_factory, persist)

    async with uow_factory() as uow:
        stored = await uow.totp.get(factor.user_id)
        again = await uow.totp.confirm(factor, step=101, now=NOW)

    assert stored == TotpFactor(
        user_id=factor.user_id,
        secret=factor.secret,
        created_at=NOW,
        confirmed_at=NOW,
        last_step=100,
    )
    assert again is False


async def test_starting_again_replaces_only_a_pending_set_up(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    await persist(user)
    first = TotpFactor(user_id=user.id, secret="A" * 32, created_at=NOW)
    second = TotpFactor(user_id=user.id, secret="B" * 32, created_at=NOW + timedelta(seconds=1))
    async with uow_factory() as uow:
        await uow.totp.put_pending(first)
        await uow.totp.put_pending(second)
        await uow.commit()

    async with uow_factory() as uow:
        assert not await uow.totp.confirm(first, step=1, now=NOW)
        assert await uow.totp.confirm(second, step=1, now=NOW)
        stored = await uow.totp.get(user.id)
    assert stored is not None
    assert stored.secret == "B" * 32


async def test_of_many_transactions_accepting_one_step_exactly_one_wins(
    uow_factory: UowFactory, persist: Persist
) -> None:
    factor = await enabled_factor(uow_factory, persist)

    async def accept() -> bool:
        async with uow_factory() as uow:
            won = await uow.totp.accept_step(factor.user_id, 101)
            await uow.commit()
            return won

    assert (await race(accept)).count(True) == 1
    async with uow_factory() as uow:
        assert not await uow.totp.accept_step(factor.user_id, 100)  # older: a replay
        assert not await uow.totp.accept_step(factor.user_id, 101)  # the same: a replay
        assert await uow.totp.accept_step(factor.user_id, 102)


async def test_a_pending_factor_accepts_no_code(uow_factory: UowFactory, persist: Persist) -> None:
    user = a_user()
    await persist(user)
    async with uow_factory() as uow:
        await uow.totp.put_pending(TotpFactor(user_id=user.id, secret="A" * 32, created_at=NOW))
        assert not await uow.totp.accept_step(user.id, 1)


async def test_a_recovery_code_is_used_once_however_many_try(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    await persist(user)
    codes = [
        RecoveryCode(
            id=uuid.uuid4(), user_id=user.id, code_hash=hash_recovery_code(f"c{n}"), created_at=NOW
        )
        for n in range(3)
    ]
    async with uow_factory() as uow:
        await uow.recovery_codes.replace(user.id, codes)
        await uow.commit()

    async def use() -> bool:
        async with uow_factory() as uow:
            won = await uow.recovery_codes.use(codes[0].id, NOW)
            await uow.commit()
            return won

    assert (await race(use)).count(True) == 1
    async with uow_factory() as uow:
        left = await uow.recovery_codes.unused(user.id)
        await uow.recovery_codes.replace(user.id, codes[1:2])
        after_replace = await uow.recovery_codes.unused(user.id)
    assert sorted(code.id for code in left) == sorted(code.id for code in codes[1:])
    assert [code.id for code in after_replace] == [codes[1].id]


async def a_challenge(
    uow_factory: UowFactory, persist: Persist, first_factor: AuthMethods = PASSWORD_ONLY
) -> MfaChallenge:
    user = a_user()
    await persist(user)
    challenge = MfaChallenge(
        id=uuid.uuid4(),
        user_id=user.id,
        token_hash="f" * 64,
        throttle_key="k" * 64,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
        first_factor=first_factor,
    )
    async with uow_factory() as uow:
        await uow.mfa_challenges.add(challenge)
        await uow.commit()
    return challenge


@pytest.mark.parametrize("first_factor", [PASSWORD_ONLY, UPSTREAM_ONLY])
async def test_a_challenge_comes_back_with_how_its_first_step_was_passed(
    uow_factory: UowFactory, persist: Persist, first_factor: AuthMethods
) -> None:
    challenge = await a_challenge(uow_factory, persist, first_factor)

    async with uow_factory() as uow:
        found = await uow.mfa_challenges.find(challenge.token_hash)

    assert found == challenge


async def test_a_challenge_is_spent_once(uow_factory: UowFactory, persist: Persist) -> None:
    challenge = await a_challenge(uow_factory, persist)

    async def spend() -> bool:
        async with uow_factory() as uow:
            won = await uow.mfa_challenges.spend(challenge.id, NOW)
            await uow.commit()
            return won

    assert (await race(spend)).count(True) == 1
    async with uow_factory() as uow:
        found = await uow.mfa_challenges.find(challenge.token_hash)
    assert found is not None
    assert found.spent_at == NOW


async def test_wrong_codes_counted_at_once_all_count_up_to_the_limit(
    uow_factory: UowFactory, persist: Persist
) -> None:
    challenge = await a_challenge(uow_factory, persist)

    async def wrong_code() -> bool:
        async with uow_factory() as uow:
            await uow.mfa_challenges.record_wrong_code(challenge.id)
            await uow.commit()
            return True

    await race(wrong_code)
    async with uow_factory() as uow:
        found = await uow.mfa_challenges.find(challenge.token_hash)
        spendable = await uow.mfa_challenges.spend(challenge.id, NOW)
    assert found is not None
    assert found.failures == MAX_WRONG_CODES
    assert not found.is_usable(NOW)
    assert spendable is False


async def test_expired_challenges_are_pruned(uow_factory: UowFactory, persist: Persist) -> None:
    challenge = await a_challenge(uow_factory, persist)

    async with uow_factory() as uow:
        kept = await uow.mfa_challenges.prune(expired_before=NOW)
        pruned = await uow.mfa_challenges.prune(expired_before=challenge.expires_at)
        await uow.commit()

    assert (kept, pruned) == (0, 1)


async def test_set_ups_racing_leave_one_pending_row_and_never_replace_one_that_is_on(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    await persist(user)

    async def start(n: int) -> bool:
        async with uow_factory() as uow:
            factor = TotpFactor(user_id=user.id, secret=f"{n:032d}", created_at=NOW)
            await uow.totp.put_pending(factor)
            await uow.commit()
            return True

    results = await asyncio.gather(*(start(n) for n in range(RACERS)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    async with uow_factory() as uow:
        pending = await uow.totp.get(user.id)
        assert pending is not None
        assert await uow.totp.confirm(pending, step=1, now=NOW)
        await uow.commit()

    async with uow_factory() as uow:
        with pytest.raises(MfaAlreadyEnabled):
            await uow.totp.put_pending(TotpFactor(user_id=user.id, secret="B" * 32, created_at=NOW))
    async with uow_factory() as uow:
        kept = await uow.totp.get(user.id)
    assert kept is not None
    assert (kept.secret, kept.is_enabled) == (pending.secret, True)

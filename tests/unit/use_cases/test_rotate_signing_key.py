from __future__ import annotations

import pytest

from application.use_cases.ensure_signing_key import EnsureSigningKey, EnsureSigningKeyCommand
from application.use_cases.list_signing_keys import ListSigningKeys, ListSigningKeysQuery
from application.use_cases.rotate_signing_key import (
    RotateSigningKey,
    RotateSigningKeyCommand,
    UnsupportedSigningAlgorithm,
)
from domain.signing_key import SIGNING_ALGORITHMS
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore


def active_kids(store: InMemoryStore) -> dict[str, str]:
    return {key.algorithm: key.kid for key in store.signing_keys.values() if key.is_active}


async def test_rotating_makes_a_new_active_key_for_every_algorithm(
    rotate_signing_key: RotateSigningKey,
    ensure_signing_key: EnsureSigningKey,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    old = await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(days=90)

    new = await rotate_signing_key.execute(RotateSigningKeyCommand())

    assert [key.algorithm for key in new] == list(SIGNING_ALGORITHMS)
    assert all(key.is_active and key.created_at == clock.now() for key in new)
    assert active_kids(store) == {key.algorithm: key.kid for key in new}
    assert not {key.kid for key in new} & {key.kid for key in old.values()}
    assert uow.commits == 2


async def test_rotating_retires_the_previously_active_keys_at_that_moment(
    rotate_signing_key: RotateSigningKey,
    ensure_signing_key: EnsureSigningKey,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    old = await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(days=90)

    await rotate_signing_key.execute(RotateSigningKeyCommand())

    for key in old.values():
        assert store.signing_keys[key.kid].retired_at == clock.now()


async def test_rotating_one_algorithm_leaves_the_others_keys_active(
    rotate_signing_key: RotateSigningKey,
    ensure_signing_key: EnsureSigningKey,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    old = await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(days=1)

    (new,) = await rotate_signing_key.execute(RotateSigningKeyCommand("RS256"))

    assert new.algorithm == "RS256"
    assert active_kids(store) == {
        "RS256": new.kid,
        "ES256": old["ES256"].kid,
        "EdDSA": old["EdDSA"].kid,
    }
    assert store.signing_keys[old["RS256"].kid].retired_at == clock.now()


async def test_an_algorithm_the_service_does_not_sign_with_is_refused_and_nothing_changes(
    rotate_signing_key: RotateSigningKey,
    ensure_signing_key: EnsureSigningKey,
    store: InMemoryStore,
) -> None:
    await ensure_signing_key.execute(EnsureSigningKeyCommand())
    before = active_kids(store)

    with pytest.raises(UnsupportedSigningAlgorithm):
        await rotate_signing_key.execute(RotateSigningKeyCommand("HS256"))

    assert active_kids(store) == before
    assert len(store.signing_keys) == len(SIGNING_ALGORITHMS)


async def test_a_key_retired_earlier_keeps_its_retirement_time(
    rotate_signing_key: RotateSigningKey, store: InMemoryStore, clock: FixedClock
) -> None:
    first = await rotate_signing_key.execute(RotateSigningKeyCommand())
    clock.advance(days=30)
    await rotate_signing_key.execute(RotateSigningKeyCommand())
    first_retired = clock.now()
    clock.advance(days=30)

    await rotate_signing_key.execute(RotateSigningKeyCommand())

    assert {store.signing_keys[key.kid].retired_at for key in first} == {first_retired}
    assert len(store.signing_keys) == 3 * len(SIGNING_ALGORITHMS)


async def test_rotating_with_no_key_yet_makes_the_first_ones(
    rotate_signing_key: RotateSigningKey, store: InMemoryStore
) -> None:
    new = await rotate_signing_key.execute(RotateSigningKeyCommand())

    assert sorted(store.signing_keys) == sorted(key.kid for key in new)
    assert all(key.is_active for key in new)


async def test_after_a_rotation_the_next_start_signs_with_the_new_keys(
    rotate_signing_key: RotateSigningKey,
    ensure_signing_key: EnsureSigningKey,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(days=90)
    new = await rotate_signing_key.execute(RotateSigningKeyCommand())
    clock.advance(minutes=1)

    assert await ensure_signing_key.execute(EnsureSigningKeyCommand()) == {
        key.algorithm: key for key in new
    }
    assert len(store.signing_keys) == 2 * len(SIGNING_ALGORITHMS)


async def test_the_new_keys_are_listed_first(
    rotate_signing_key: RotateSigningKey,
    ensure_signing_key: EnsureSigningKey,
    uow: FakeUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    old = await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(days=90)
    new = await rotate_signing_key.execute(RotateSigningKeyCommand())

    listed = await ListSigningKeys(uow).execute(ListSigningKeysQuery())

    assert {key.kid for key in listed[:3]} == {key.kid for key in new}
    assert {key.kid for key in listed[3:]} == {key.kid for key in old.values()}

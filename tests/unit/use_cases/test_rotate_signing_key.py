from __future__ import annotations

from application.use_cases.ensure_signing_key import EnsureSigningKey, EnsureSigningKeyCommand
from application.use_cases.list_signing_keys import ListSigningKeys, ListSigningKeysQuery
from application.use_cases.rotate_signing_key import RotateSigningKey, RotateSigningKeyCommand
from tests.fakes import FakeSigningKeyFactory, FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import ALGORITHM


async def test_rotating_adds_a_new_active_key_of_the_configured_algorithm(
    rotate_signing_key: RotateSigningKey,
    ensure_signing_key: EnsureSigningKey,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    old = await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(days=90)

    new = await rotate_signing_key.execute(RotateSigningKeyCommand())

    assert new.kid != old.kid
    assert (new.algorithm, new.is_active, new.created_at) == (ALGORITHM, True, clock.now())
    assert store.signing_keys[new.kid] == new
    assert uow.commits == 2


async def test_rotating_retires_the_previously_active_key_at_that_moment(
    rotate_signing_key: RotateSigningKey,
    ensure_signing_key: EnsureSigningKey,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    old = await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(days=90)

    await rotate_signing_key.execute(RotateSigningKeyCommand())

    assert store.signing_keys[old.kid].retired_at == clock.now()
    assert not store.signing_keys[old.kid].is_active


async def test_rotating_retires_every_active_key_whatever_its_algorithm(
    rotate_signing_key: RotateSigningKey,
    uow: FakeUnitOfWorkFactory,
    key_factory: FakeSigningKeyFactory,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    es256 = await EnsureSigningKey(uow, key_factory, clock, "ES256").execute(
        EnsureSigningKeyCommand()
    )
    eddsa = await EnsureSigningKey(uow, key_factory, clock, "EdDSA").execute(
        EnsureSigningKeyCommand()
    )
    clock.advance(days=1)

    new = await rotate_signing_key.execute(RotateSigningKeyCommand())

    assert [key.kid for key in store.signing_keys.values() if key.is_active] == [new.kid]
    assert store.signing_keys[es256.kid].retired_at == clock.now()
    assert store.signing_keys[eddsa.kid].retired_at == clock.now()


async def test_a_key_retired_earlier_keeps_its_retirement_time(
    rotate_signing_key: RotateSigningKey, store: InMemoryStore, clock: FixedClock
) -> None:
    first = await rotate_signing_key.execute(RotateSigningKeyCommand())
    clock.advance(days=30)
    await rotate_signing_key.execute(RotateSigningKeyCommand())
    first_retired = clock.now()
    clock.advance(days=30)

    await rotate_signing_key.execute(RotateSigningKeyCommand())

    assert store.signing_keys[first.kid].retired_at == first_retired
    assert len(store.signing_keys) == 3


async def test_rotating_with_no_key_yet_makes_the_first_one(
    rotate_signing_key: RotateSigningKey, store: InMemoryStore
) -> None:
    new = await rotate_signing_key.execute(RotateSigningKeyCommand())

    assert list(store.signing_keys.values()) == [new]
    assert new.is_active


async def test_the_new_key_has_the_configured_algorithm_even_if_the_old_one_had_another(
    ensure_signing_key: EnsureSigningKey,
    uow: FakeUnitOfWorkFactory,
    key_factory: FakeSigningKeyFactory,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    es256 = await ensure_signing_key.execute(EnsureSigningKeyCommand())

    eddsa = await RotateSigningKey(uow, key_factory, clock, "EdDSA").execute(
        RotateSigningKeyCommand()
    )

    assert eddsa.algorithm == "EdDSA"
    assert store.signing_keys[es256.kid].retired_at == clock.now()


async def test_after_a_rotation_the_next_start_signs_with_the_new_key(
    rotate_signing_key: RotateSigningKey,
    ensure_signing_key: EnsureSigningKey,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(days=90)
    new = await rotate_signing_key.execute(RotateSigningKeyCommand())
    clock.advance(minutes=1)

    assert await ensure_signing_key.execute(EnsureSigningKeyCommand()) == new
    assert len(store.signing_keys) == 2


async def test_the_new_key_is_listed_first(
    rotate_signing_key: RotateSigningKey,
    ensure_signing_key: EnsureSigningKey,
    uow: FakeUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    old = await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(days=90)
    new = await rotate_signing_key.execute(RotateSigningKeyCommand())

    listed = await ListSigningKeys(uow).execute(ListSigningKeysQuery())

    assert [key.kid for key in listed] == [new.kid, old.kid]

from __future__ import annotations

from application.use_cases.ensure_signing_key import EnsureSigningKey, EnsureSigningKeyCommand
from application.use_cases.list_signing_keys import ListSigningKeys, ListSigningKeysQuery
from tests.fakes import FakeSigningKeyFactory, FakeUnitOfWorkFactory, FixedClock, InMemoryStore


def ensure(
    uow: FakeUnitOfWorkFactory, key_factory: FakeSigningKeyFactory, clock: FixedClock, alg: str
) -> EnsureSigningKey:
    return EnsureSigningKey(uow, key_factory, clock, alg)


async def test_the_first_start_creates_one_active_key_of_the_configured_algorithm(
    uow: FakeUnitOfWorkFactory,
    store: InMemoryStore,
    key_factory: FakeSigningKeyFactory,
    clock: FixedClock,
) -> None:
    key = await ensure(uow, key_factory, clock, "ES256").execute(EnsureSigningKeyCommand())

    assert (key.algorithm, key.is_active, key.created_at) == ("ES256", True, clock.now())
    assert list(store.signing_keys.values()) == [key]
    assert uow.commits == 1


async def test_a_later_start_reuses_the_active_key_and_creates_none(
    uow: FakeUnitOfWorkFactory,
    store: InMemoryStore,
    key_factory: FakeSigningKeyFactory,
    clock: FixedClock,
) -> None:
    first = await ensure(uow, key_factory, clock, "ES256").execute(EnsureSigningKeyCommand())
    clock.advance(days=1)

    second = await ensure(uow, key_factory, clock, "ES256").execute(EnsureSigningKeyCommand())

    assert second == first
    assert list(store.signing_keys) == [first.kid]
    assert uow.commits == 1


async def test_a_new_key_is_created_when_the_configured_algorithm_changes(
    uow: FakeUnitOfWorkFactory,
    store: InMemoryStore,
    key_factory: FakeSigningKeyFactory,
    clock: FixedClock,
) -> None:
    es256 = await ensure(uow, key_factory, clock, "ES256").execute(EnsureSigningKeyCommand())
    clock.advance(days=1)

    eddsa = await ensure(uow, key_factory, clock, "EdDSA").execute(EnsureSigningKeyCommand())

    assert eddsa.kid != es256.kid
    assert eddsa.algorithm == "EdDSA"
    assert set(store.signing_keys) == {es256.kid, eddsa.kid}


async def test_a_retired_key_of_the_configured_algorithm_is_not_reused(
    uow: FakeUnitOfWorkFactory,
    store: InMemoryStore,
    key_factory: FakeSigningKeyFactory,
    clock: FixedClock,
) -> None:
    old = await ensure(uow, key_factory, clock, "ES256").execute(EnsureSigningKeyCommand())
    store.signing_keys[old.kid].retired_at = clock.now()
    clock.advance(days=1)

    new = await ensure(uow, key_factory, clock, "ES256").execute(EnsureSigningKeyCommand())

    assert new.kid != old.kid
    assert new.is_active
    assert len(store.signing_keys) == 2


async def test_keys_are_listed_newest_first(
    uow: FakeUnitOfWorkFactory, key_factory: FakeSigningKeyFactory, clock: FixedClock
) -> None:
    es256 = await ensure(uow, key_factory, clock, "ES256").execute(EnsureSigningKeyCommand())
    clock.advance(days=1)
    eddsa = await ensure(uow, key_factory, clock, "EdDSA").execute(EnsureSigningKeyCommand())

    listed = await ListSigningKeys(uow).execute(ListSigningKeysQuery())

    assert [key.kid for key in listed] == [eddsa.kid, es256.kid]

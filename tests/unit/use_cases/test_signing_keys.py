from __future__ import annotations

from application.use_cases.ensure_signing_key import EnsureSigningKey, EnsureSigningKeyCommand
from application.use_cases.list_signing_keys import ListSigningKeys, ListSigningKeysQuery
from domain.signing_key import SIGNING_ALGORITHMS
from tests.fakes import FakeSigningKeyFactory, FakeUnitOfWorkFactory, FixedClock, InMemoryStore


async def test_the_first_start_creates_one_active_key_per_algorithm_rs256_among_them(
    ensure_signing_key: EnsureSigningKey,
    uow: FakeUnitOfWorkFactory,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    keys = await ensure_signing_key.execute(EnsureSigningKeyCommand())

    assert list(keys) == ["RS256", "ES256", "EdDSA"] == list(SIGNING_ALGORITHMS)
    for algorithm, key in keys.items():
        assert (key.algorithm, key.is_active, key.created_at) == (algorithm, True, clock.now())
    assert sorted(store.signing_keys.values(), key=lambda key: key.kid) == sorted(
        keys.values(), key=lambda key: key.kid
    )
    assert uow.commits == 1


async def test_a_later_start_reuses_the_active_keys_and_creates_none(
    ensure_signing_key: EnsureSigningKey,
    uow: FakeUnitOfWorkFactory,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    first = await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(days=1)

    second = await ensure_signing_key.execute(EnsureSigningKeyCommand())

    assert second == first
    assert len(store.signing_keys) == len(SIGNING_ALGORITHMS)
    assert uow.commits == 1


async def test_only_the_missing_algorithms_get_a_key(
    uow: FakeUnitOfWorkFactory,
    store: InMemoryStore,
    key_factory: FakeSigningKeyFactory,
    clock: FixedClock,
) -> None:
    """A database from before RS256 was kept beside the API's key: ES256 only."""
    es256 = (
        await EnsureSigningKey(uow, key_factory, clock, ("ES256",)).execute(
            EnsureSigningKeyCommand()
        )
    )["ES256"]
    clock.advance(days=1)

    keys = await EnsureSigningKey(uow, key_factory, clock, SIGNING_ALGORITHMS).execute(
        EnsureSigningKeyCommand()
    )

    assert keys["ES256"] == es256
    assert keys["RS256"].created_at == keys["EdDSA"].created_at == clock.now()
    assert len(store.signing_keys) == 3


async def test_a_retired_key_is_not_reused(
    ensure_signing_key: EnsureSigningKey,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    old = (await ensure_signing_key.execute(EnsureSigningKeyCommand()))["RS256"]
    store.signing_keys[old.kid].retired_at = clock.now()
    clock.advance(days=1)

    new = (await ensure_signing_key.execute(EnsureSigningKeyCommand()))["RS256"]

    assert new.kid != old.kid
    assert new.is_active
    assert len(store.signing_keys) == len(SIGNING_ALGORITHMS) + 1


async def test_of_two_active_keys_of_one_algorithm_the_newer_is_the_active_one(
    ensure_signing_key: EnsureSigningKey,
    key_factory: FakeSigningKeyFactory,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    """Two processes starting at once on an empty database may each make one."""
    await ensure_signing_key.execute(EnsureSigningKeyCommand())
    clock.advance(seconds=1)
    newer = key_factory.generate("ES256", clock.now())
    store.signing_keys[newer.kid] = newer

    assert (await ensure_signing_key.execute(EnsureSigningKeyCommand()))["ES256"] == newer


async def test_keys_are_listed_newest_first(
    uow: FakeUnitOfWorkFactory, key_factory: FakeSigningKeyFactory, clock: FixedClock
) -> None:
    es256 = (
        await EnsureSigningKey(uow, key_factory, clock, ("ES256",)).execute(
            EnsureSigningKeyCommand()
        )
    )["ES256"]
    clock.advance(days=1)
    eddsa = (
        await EnsureSigningKey(uow, key_factory, clock, ("EdDSA",)).execute(
            EnsureSigningKeyCommand()
        )
    )["EdDSA"]

    listed = await ListSigningKeys(uow).execute(ListSigningKeysQuery())

    assert [key.kid for key in listed] == [eddsa.kid, es256.kid]

"""The key ring over the in-memory unit of work and a fake clock: when it goes to the database,
when it does not, and who waits for it. The keys are real (the ring parses them); the time is
the fake clock's, so staleness and the unknown-kid rate limit are exact."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Self, TypeVar

import pytest

from adapters.security import key_ring
from adapters.security.key_ring import KeyRing
from adapters.security.signing_key_factory import CryptographySigningKeyFactory
from application.errors import StorageUnavailable
from domain.signing_key import SigningKey
from tests.fakes import FakeUnitOfWork, FakeUnitOfWorkFactory, FixedClock

T = TypeVar("T")

TTL = timedelta(minutes=15)
# What a retired key stays published for: the token lifetime, the leeway, the staleness.
PUBLISHED_AFTER_RETIREMENT = TTL + timedelta(seconds=10 + 5)


@cache
def _key_pair(algorithm: str) -> SigningKey:
    return CryptographySigningKeyFactory().generate(algorithm, datetime(2026, 1, 1, tzinfo=UTC))


_kids = iter(range(1, 10**6))


def a_key(created_at: datetime, algorithm: str = "ES256") -> SigningKey:
    """A real key pair (one per algorithm, reused: the ring only parses it) under a new kid."""
    pair = _key_pair(algorithm)
    kid = f"kid-{next(_kids)}"
    return SigningKey(
        kid=kid,
        algorithm=algorithm,
        private_key_pem=pair.private_key_pem,
        public_jwk={**pair.public_jwk, "kid": kid},
        created_at=created_at,
    )


class GatedUnitOfWork(FakeUnitOfWork):
    def __init__(self, database: Database) -> None:
        super().__init__(database.store, database.locks)
        self._database = database

    async def __aenter__(self) -> Self:
        await self._database.free.wait()
        if self._database.down:
            raise StorageUnavailable()
        return await super().__aenter__()


class Database(FakeUnitOfWorkFactory):
    """The in-memory unit of work, which can also be down, or have no connection free (opening
    a unit of work then waits until `free` is set)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.free = asyncio.Event()
        self.free.set()

    def __call__(self) -> FakeUnitOfWork:
        uow = GatedUnitOfWork(self)
        self.opened.append(uow)
        return uow

    @property
    def loads(self) -> int:
        return len(self.opened)

    def add(self, *keys: SigningKey) -> None:
        for key in keys:
            self.store.signing_keys[key.kid] = key


@pytest.fixture
def database() -> Database:
    return Database()


@pytest.fixture
def removed() -> list[frozenset[str]]:
    return []


@pytest.fixture
async def ring(
    database: Database, clock: FixedClock, removed: list[frozenset[str]]
) -> AsyncIterator[KeyRing]:
    ring = KeyRing(
        database, clock, algorithm="ES256", access_token_ttl=TTL, on_keys_removed=removed.append
    )
    yield ring
    await ring.aclose()


async def eventually(condition: Callable[[], bool], *, pause: float = 0.0) -> None:
    """Let background tasks run until the condition holds (the fakes never really wait)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(pause)
    raise AssertionError("never happened")


def without_waiting(call: Awaitable[T]) -> Awaitable[T]:
    return asyncio.wait_for(call, timeout=1)


# --- loading ----------------------------------------------------------------------------------


async def test_building_a_ring_reads_nothing(database: Database, clock: FixedClock) -> None:
    KeyRing(database, clock, algorithm="ES256", access_token_ttl=TTL)

    assert database.loads == 0


async def test_the_first_use_loads_the_keys(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    key = a_key(clock.now())
    database.add(key)

    assert (await ring.signing_key()).kid == key.kid
    assert database.loads == 1


async def test_it_signs_with_the_newest_active_key_of_the_configured_algorithm(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    older = a_key(now - timedelta(days=2))
    newest = a_key(now - timedelta(days=1))
    retired = a_key(now)
    retired.retire(now)
    another_algorithm = a_key(now, "EdDSA")
    database.add(older, newest, retired, another_algorithm)

    await ring.load()

    assert (await ring.signing_key()).kid == newest.kid


async def test_without_an_active_key_of_the_algorithm_nothing_is_signed(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    database.add(a_key(clock.now(), "EdDSA"))
    await ring.load()

    with pytest.raises(RuntimeError, match="no active ES256 signing key"):
        await ring.signing_key()


async def test_any_stored_key_verifies_whatever_its_algorithm_or_state(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    retired = a_key(clock.now(), "EdDSA")
    retired.retire(clock.now())
    database.add(a_key(clock.now()), retired)
    await ring.load()

    found = await ring.verification_key(retired.kid)

    assert found is not None
    assert (found.kid, found.algorithm) == (retired.kid, "EdDSA")


# --- staleness, by the clock ------------------------------------------------------------------


async def test_the_keys_are_reloaded_once_five_seconds_old_by_the_clock(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    old = a_key(clock.now())
    database.add(old)
    await ring.load()
    newer = a_key(clock.now() + timedelta(seconds=1))
    database.add(newer)

    clock.advance(seconds=4.999)
    assert (await ring.signing_key()).kid == old.kid
    await asyncio.sleep(0)
    assert database.loads == 1

    clock.advance(seconds=0.001)
    assert (await ring.signing_key()).kid == old.kid  # signs with what it has meanwhile
    await eventually(lambda: database.loads == 2)
    assert (await ring.signing_key()).kid == newer.kid


async def test_a_wall_clock_set_back_does_not_keep_stale_keys(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    database.add(a_key(clock.now()))
    await ring.load()

    clock.current -= timedelta(hours=1)  # the system's clock corrected, or set by hand
    clock.advance(seconds=5)
    await ring.signing_key()

    await eventually(lambda: database.loads == 2)


async def test_issuing_verifying_and_publishing_never_wait_for_a_reload_once_loaded(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    key = a_key(clock.now())
    database.add(key)
    await ring.load()
    database.free.clear()  # every connection is busy from now on
    clock.advance(seconds=60)

    assert (await without_waiting(ring.signing_key())).kid == key.kid
    assert await without_waiting(ring.verification_key(key.kid)) is not None
    assert len(await without_waiting(ring.public_jwks())) == 1

    database.free.set()
    await eventually(lambda: database.loads == 2)


async def test_a_reload_that_fails_leaves_the_keys_serving_and_is_tried_again(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    key = a_key(clock.now())
    database.add(key)
    await ring.load()
    database.down = True
    clock.advance(seconds=5)

    assert (await ring.signing_key()).kid == key.kid
    await eventually(lambda: database.loads == 2)
    assert (await ring.signing_key()).kid == key.kid

    database.down = False
    newer = a_key(clock.now())
    database.add(newer)
    await ring.signing_key()  # still stale: the failed reload did not count
    await eventually(lambda: database.loads == 3)
    assert (await ring.signing_key()).kid == newer.kid


async def test_before_the_first_load_a_caller_waits_for_it(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    database.down = True
    with pytest.raises(StorageUnavailable):
        await ring.signing_key()

    database.down = False
    database.add(a_key(clock.now()))
    assert await ring.signing_key() is not None


# --- unknown kids -----------------------------------------------------------------------------


async def test_an_unknown_kid_reloads_the_keys_at_most_once_a_second(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    database.add(a_key(clock.now()))
    await ring.load()
    made_elsewhere = a_key(clock.now())
    database.add(made_elsewhere)

    assert await ring.verification_key(made_elsewhere.kid) is None  # loaded a moment ago
    clock.advance(seconds=0.999)
    assert await ring.verification_key(made_elsewhere.kid) is None
    assert database.loads == 1

    clock.advance(seconds=0.001)
    assert await ring.verification_key(made_elsewhere.kid) is not None
    assert database.loads == 2


async def test_a_stream_of_forged_kids_costs_one_reload_a_second(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    database.add(a_key(clock.now()))
    await ring.load()

    for second in range(3):
        clock.advance(seconds=1)
        lookups = [ring.verification_key(f"forged-{second}-{n}") for n in range(50)]
        assert await asyncio.gather(*lookups) == [None] * 50

    assert database.loads == 1 + 3


async def test_looking_for_an_unknown_kid_waits_for_the_database(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    database.add(a_key(clock.now()))
    await ring.load()
    clock.advance(seconds=1)
    database.down = True

    with pytest.raises(StorageUnavailable):
        await ring.verification_key("made-a-moment-ago")


# --- keys leaving the table -------------------------------------------------------------------


async def test_a_key_gone_from_the_table_is_reported_and_no_longer_verifies(
    ring: KeyRing, database: Database, clock: FixedClock, removed: list[frozenset[str]]
) -> None:
    staying, going = a_key(clock.now()), a_key(clock.now())
    database.add(staying, going)
    await ring.load()

    del database.store.signing_keys[going.kid]
    await ring.load()

    assert removed == [frozenset({going.kid})]
    assert await ring.verification_key(going.kid) is None
    assert await ring.verification_key(staying.kid) is not None
    await ring.load()
    assert removed == [frozenset({going.kid})]  # told once


# --- the public keys --------------------------------------------------------------------------


async def test_a_retired_key_is_published_until_no_token_it_signed_can_be_accepted(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    retired = a_key(clock.now() - timedelta(days=1))
    retired.retire(clock.now())
    active = a_key(clock.now())
    database.add(retired, active)
    await ring.load()

    clock.advance(seconds=PUBLISHED_AFTER_RETIREMENT.total_seconds() - 0.001)
    assert {jwk["kid"] for jwk in await ring.public_jwks()} == {retired.kid, active.kid}

    clock.advance(seconds=0.001)
    assert [jwk["kid"] for jwk in await ring.public_jwks()] == [active.kid]


async def test_the_published_keys_are_public_halves_only(
    ring: KeyRing, database: Database, clock: FixedClock
) -> None:
    for algorithm in ("ES256", "EdDSA", "RS256"):
        database.add(a_key(clock.now(), algorithm))

    jwks = await ring.public_jwks()

    assert len(jwks) == 3
    for jwk in jwks:
        assert not {"d", "p", "q", "dp", "dq", "qi", "oth", "k"} & set(jwk)
        assert jwk["use"] == "sig"


# --- keep_fresh -------------------------------------------------------------------------------


async def test_keep_fresh_reloads_on_its_own_until_cancelled(
    ring: KeyRing, database: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It does not wait for the clock to call the keys stale: it reloads on every beat."""
    monkeypatch.setattr(key_ring, "STALE_AFTER_SECONDS", 0.001)
    database.add(a_key(clock.now()))
    await ring.load()

    keeping = asyncio.create_task(ring.keep_fresh())
    await eventually(lambda: database.loads >= 4, pause=0.001)
    keeping.cancel()
    await asyncio.wait({keeping})

    assert keeping.cancelled()
    loads = database.loads
    await asyncio.sleep(0.01)
    assert database.loads == loads

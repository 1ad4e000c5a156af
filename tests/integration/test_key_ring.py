"""The key ring over a real database (SQLite and PostgreSQL): rotations reach it, and nothing
that issues a token inside a unit of work ever waits for a second connection. Its timing rules,
on a fake clock, are in tests/unit/adapters/test_key_ring.py."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from adapters.persistence.database import Database
from adapters.persistence.tables import signing_keys
from adapters.security import key_ring
from adapters.security.key_ring import KeyRing
from adapters.security.signing_key_factory import CryptographySigningKeyFactory
from adapters.system.clock import SystemClock
from application.ports.system import Clock
from application.use_cases.ensure_signing_key import EnsureSigningKey, EnsureSigningKeyCommand
from application.use_cases.rotate_signing_key import RotateSigningKey, RotateSigningKeyCommand
from domain.signing_key import SIGNING_ALGORITHMS, SigningKey
from tests.fakes import FixedClock
from tests.integration.conftest import UowFactory, sql_only
from tests.integration.key_rings import clock as clock  # a fixture: pytest finds it here
from tests.integration.key_rings import ring_after_first_start, ring_over
from tests.signing_keys import ReusedKeyMaterial


async def store(uow_factory: UowFactory, key: SigningKey) -> None:
    async with uow_factory() as uow:
        await uow.signing_keys.add(key)
        await uow.commit()


def a_newer_key(clock: Clock) -> SigningKey:
    return CryptographySigningKeyFactory().generate("ES256", clock.now() + timedelta(seconds=1))


@pytest.fixture
async def ring(
    uow_factory: UowFactory, key_factory: ReusedKeyMaterial, clock: FixedClock
) -> AsyncIterator[KeyRing]:
    """A ring over a database holding the key a first start makes."""
    async with ring_after_first_start(uow_factory, key_factory, clock) as (ring, _):
        yield ring


async def test_a_rotation_is_signed_with_from_the_next_load_and_the_old_key_stays(
    ring: KeyRing, uow_factory: UowFactory, clock: FixedClock
) -> None:
    old = await ring.signing_key()
    (new,) = await RotateSigningKey(
        uow_factory, CryptographySigningKeyFactory(), clock, ("ES256",)
    ).execute(RotateSigningKeyCommand())

    await ring.load()

    assert (await ring.signing_key()).kid == new.kid
    assert await ring.verification_key(old.kid) is not None
    assert {jwk["kid"] for jwk in await ring.public_jwks()} == {old.kid, new.kid}


async def test_the_ring_signs_with_each_algorithms_newest_active_key_and_publishes_them_all(
    uow_factory: UowFactory, key_factory: ReusedKeyMaterial, clock: FixedClock
) -> None:
    """As the service keeps them: an active key per algorithm; the API's algorithm (EdDSA
    here) is the one signed with when none is named."""
    first = await EnsureSigningKey(uow_factory, key_factory, clock, SIGNING_ALGORITHMS).execute(
        EnsureSigningKeyCommand()
    )
    clock.advance(seconds=1)
    (rs256,) = await RotateSigningKey(
        uow_factory, CryptographySigningKeyFactory(), clock, SIGNING_ALGORITHMS
    ).execute(RotateSigningKeyCommand("RS256"))
    ring = ring_over(uow_factory, clock, "EdDSA")
    try:
        signing = {
            algorithm: (await ring.signing_key(algorithm)).kid for algorithm in SIGNING_ALGORITHMS
        }
        default = await ring.signing_key()
        retired = await ring.verification_key(first["RS256"].kid)
        published = {(jwk["kid"], jwk["alg"]) for jwk in await ring.public_jwks()}
    finally:
        await ring.aclose()

    assert signing == {"RS256": rs256.kid, "ES256": first["ES256"].kid, "EdDSA": first["EdDSA"].kid}
    assert (default.kid, default.algorithm) == (first["EdDSA"].kid, "EdDSA")
    assert retired is not None
    assert retired.algorithm == "RS256"
    assert published == {(key.kid, key.algorithm) for key in [*first.values(), rs256]}


async def test_a_ring_whose_database_has_no_key_of_an_algorithm_says_so(
    ring: KeyRing,
) -> None:
    """A database only the API's algorithm was ever ensured on (see ring_after_first_start)."""
    with pytest.raises(RuntimeError, match="no active RS256 signing key"):
        await ring.signing_key("RS256")


async def test_a_stale_copy_is_reloaded_in_the_background(
    ring: KeyRing, uow_factory: UowFactory, clock: FixedClock
) -> None:
    await ring.load()
    newer = a_newer_key(clock)
    await store(uow_factory, newer)
    clock.advance(seconds=5)

    kids = {(await ring.signing_key()).kid}
    for _ in range(500):
        if newer.kid in kids:
            break
        await asyncio.sleep(0.01)
        kids.add((await ring.signing_key()).kid)

    assert newer.kid in kids


@pytest.mark.usefixtures("ring")  # the key a first start makes
@sql_only
async def test_a_key_removed_from_the_table_leaves_the_ring(
    uow_factory: UowFactory, engine: AsyncEngine
) -> None:
    removed: list[frozenset[str]] = []
    watched = ring_over(uow_factory, SystemClock(), on_keys_removed=removed.append)
    try:
        await watched.load()
        kid = (await watched.signing_key()).kid

        async with engine.begin() as connection:  # no port deletes keys; an operator might
            await connection.execute(delete(signing_keys).where(signing_keys.c.kid == kid))
        await watched.load()

        assert removed == [frozenset({kid})]
        assert await watched.verification_key(kid) is None
    finally:
        await watched.aclose()


@sql_only
async def test_nothing_waits_for_a_connection_to_reload_the_keys_while_a_unit_of_work_holds_one(
    database_url: str, key_factory: ReusedKeyMaterial, clock: FixedClock
) -> None:
    """Login and refresh issue tokens while their unit of work holds a connection. With every
    connection of the pool held so, a reload that waited for one would never get it."""
    database = Database(database_url, pool_size=1, pool_timeout=1)
    ring = ring_over(database.unit_of_work, clock)
    try:
        keys = await EnsureSigningKey(
            database.unit_of_work, key_factory, clock, ("ES256",)
        ).execute(EnsureSigningKeyCommand())
        key = keys["ES256"]
        await ring.load()
        clock.advance(seconds=60)  # stale at once

        pool = database.engine.pool
        assert isinstance(pool, QueuePool)
        async with contextlib.AsyncExitStack() as every_connection_held:
            for _ in range(pool.size()):
                holding = await every_connection_held.enter_async_context(database.unit_of_work())
                await holding.signing_keys.list()
            signing = await asyncio.wait_for(ring.signing_key(), timeout=0.5)
            verifying = await asyncio.wait_for(ring.verification_key(key.kid), timeout=0.5)
            published = await asyncio.wait_for(ring.public_jwks(), timeout=0.5)

        assert signing.kid == key.kid
        assert verifying is not None
        assert [jwk["kid"] for jwk in published] == [key.kid]
    finally:
        await ring.aclose()
        await database.aclose()


async def test_keep_fresh_brings_a_rotation_to_a_process_that_issues_nothing_meanwhile(
    ring: KeyRing, uow_factory: UowFactory, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keep_fresh (run by the server) reloads on its own: the first token issued after the
    reload is signed with the new key, as the contract's 10 seconds require. The clock stands
    still here, so nothing but keep_fresh reloads."""
    monkeypatch.setattr(key_ring, "STALE_AFTER_SECONDS", 0.05)
    await ring.load()
    keeping = asyncio.create_task(ring.keep_fresh())
    try:
        newer = a_newer_key(clock)
        await store(uow_factory, newer)
        await asyncio.sleep(0.5)

        signing = await ring.signing_key()
    finally:
        keeping.cancel()
        await asyncio.wait({keeping})

    assert signing.kid == newer.kid

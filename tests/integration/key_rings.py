"""Key rings as the service makes them, for the tests of the ring itself and of the access
tokens it signs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from adapters.security.key_ring import KeyRing
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import SigningKeyFactory
from application.ports.system import Clock
from application.use_cases.ensure_signing_key import EnsureSigningKey, EnsureSigningKeyCommand
from domain.signing_key import SigningKey
from tests.fakes import FixedClock

TTL = timedelta(minutes=15)


@pytest.fixture
def clock() -> FixedClock:
    """A clock that stands at the real time until a test moves it. Imported by the test modules
    that use it: this is no conftest, so pytest finds it only there."""
    return FixedClock(datetime.now(UTC))


def ring_over(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    algorithm: str = "ES256",
    *,
    on_keys_removed: Callable[[frozenset[str]], None] | None = None,
) -> KeyRing:
    return KeyRing(
        uow_factory,
        clock,
        algorithm=algorithm,
        access_token_ttl=TTL,
        on_keys_removed=on_keys_removed,
    )


@asynccontextmanager
async def ring_after_first_start(
    uow_factory: UnitOfWorkFactory,
    key_factory: SigningKeyFactory,
    clock: Clock,
    algorithm: str = "ES256",
    *,
    on_keys_removed: Callable[[frozenset[str]], None] | None = None,
) -> AsyncIterator[tuple[KeyRing, SigningKey]]:
    """A ring over a database holding the key of `algorithm` a first start makes (and no other),
    and that key; the ring is closed after the block."""
    keys = await EnsureSigningKey(uow_factory, key_factory, clock, (algorithm,)).execute(
        EnsureSigningKeyCommand()
    )
    key = keys[algorithm]
    ring = ring_over(uow_factory, clock, algorithm, on_keys_removed=on_keys_removed)
    try:
        yield ring, key
    finally:
        await ring.aclose()

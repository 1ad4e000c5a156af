from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import SigningKeyFactory
from application.ports.system import Clock
from domain.signing_key import SigningKey


@dataclass(frozen=True, slots=True)
class EnsureSigningKeyCommand:
    """Nothing to choose: the algorithms are the service's."""


class EnsureSigningKey:
    """Make sure each algorithm the service signs with has an active key; create the missing
    ones (every one of them on first start). The active key of each algorithm, by algorithm."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        factory: SigningKeyFactory,
        clock: Clock,
        algorithms: tuple[str, ...],
    ) -> None:
        self._uow = uow
        self._factory = factory
        self._clock = clock
        self._algorithms = algorithms

    async def execute(self, command: EnsureSigningKeyCommand) -> dict[str, SigningKey]:
        async with self._uow() as uow:
            active = self._active(await uow.signing_keys.list())
        missing = [algorithm for algorithm in self._algorithms if algorithm not in active]
        if not missing:
            return active
        # Made outside the transaction: an RSA key takes a good fraction of a second.
        now = self._clock.now()
        made = [self._factory.generate(algorithm, now) for algorithm in missing]
        async with self._uow() as uow:
            # Another process starting at the same time may have made some meanwhile.
            active = self._active(await uow.signing_keys.list())
            for key in made:
                if key.algorithm not in active:
                    await uow.signing_keys.add(key)
                    active[key.algorithm] = key
            await uow.commit()
        return active

    def _active(self, keys: Iterable[SigningKey]) -> dict[str, SigningKey]:
        """The newest active key of each of the service's algorithms that has one."""
        active: dict[str, SigningKey] = {}
        for key in keys:
            if not key.is_active or key.algorithm not in self._algorithms:
                continue
            held = active.get(key.algorithm)
            if held is None or (key.created_at, key.kid) > (held.created_at, held.kid):
                active[key.algorithm] = key
        return {
            algorithm: active[algorithm] for algorithm in self._algorithms if algorithm in active
        }

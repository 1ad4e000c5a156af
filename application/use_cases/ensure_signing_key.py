from __future__ import annotations

from dataclasses import dataclass

from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import SigningKeyFactory
from application.ports.system import Clock
from domain.signing_key import SigningKey


@dataclass(frozen=True, slots=True)
class EnsureSigningKeyCommand:
    """Nothing to choose: the algorithm is the service's setting."""


class EnsureSigningKey:
    """Make sure an active key of the configured algorithm exists; create one on first start."""

    def __init__(
        self, uow: UnitOfWorkFactory, factory: SigningKeyFactory, clock: Clock, algorithm: str
    ) -> None:
        self._uow = uow
        self._factory = factory
        self._clock = clock
        self._algorithm = algorithm

    async def execute(self, command: EnsureSigningKeyCommand) -> SigningKey:
        async with self._uow() as uow:
            for key in await uow.signing_keys.list():
                if key.is_active and key.algorithm == self._algorithm:
                    return key
            key = self._factory.generate(self._algorithm, self._clock.now())
            await uow.signing_keys.add(key)
            await uow.commit()
            return key

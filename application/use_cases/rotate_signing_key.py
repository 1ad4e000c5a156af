from __future__ import annotations

from dataclasses import dataclass

from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import SigningKeyFactory
from application.ports.system import Clock
from domain.signing_key import SigningKey


@dataclass(frozen=True, slots=True)
class RotateSigningKeyCommand:
    """Nothing to choose: the new key's algorithm is the service's setting."""


class RotateSigningKey:
    """Make a new active key and retire the others. Retired keys still verify (and stay in the
    JWKS) until every token they signed has expired."""

    def __init__(
        self, uow: UnitOfWorkFactory, factory: SigningKeyFactory, clock: Clock, algorithm: str
    ) -> None:
        self._uow = uow
        self._factory = factory
        self._clock = clock
        self._algorithm = algorithm

    async def execute(self, command: RotateSigningKeyCommand) -> SigningKey:
        now = self._clock.now()
        new_key = self._factory.generate(self._algorithm, now)
        async with self._uow() as uow:
            for key in await uow.signing_keys.list():
                if key.is_active:
                    key.retire(now)
                    await uow.signing_keys.save(key)
            await uow.signing_keys.add(new_key)
            await uow.commit()
        return new_key

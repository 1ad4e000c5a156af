from __future__ import annotations

from dataclasses import dataclass

from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import SigningKeyFactory
from application.ports.system import Clock
from domain.signing_key import SigningKey


@dataclass(frozen=True, slots=True)
class RotateSigningKeyCommand:
    """`algorithm`: rotate only that algorithm's key; None rotates every algorithm's."""

    algorithm: str | None = None


class UnsupportedSigningAlgorithm(ValueError):
    def __init__(self, algorithm: str) -> None:
        super().__init__(f"unsupported signing algorithm {algorithm!r}")


class RotateSigningKey:
    """Make a new active key for each algorithm rotated and retire the keys it replaces.
    Retired keys still verify (and stay in the JWKS) until every token they signed has
    expired. The new keys, in the order of the service's algorithms."""

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

    async def execute(self, command: RotateSigningKeyCommand) -> list[SigningKey]:
        if command.algorithm is None:
            rotated = self._algorithms
        elif command.algorithm in self._algorithms:
            rotated = (command.algorithm,)
        else:
            raise UnsupportedSigningAlgorithm(command.algorithm)
        now = self._clock.now()
        new_keys = [self._factory.generate(algorithm, now) for algorithm in rotated]
        async with self._uow() as uow:
            for key in await uow.signing_keys.list():
                if key.is_active and key.algorithm in rotated:
                    key.retire(now)
                    await uow.signing_keys.save(key)
            for new_key in new_keys:
                await uow.signing_keys.add(new_key)
            await uow.commit()
        return new_keys

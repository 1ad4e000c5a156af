from __future__ import annotations

from dataclasses import dataclass

from application.caller import Principal
from application.ports.persistence import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class MfaStatusQuery:
    principal: Principal


@dataclass(frozen=True, slots=True)
class MfaStatus:
    totp_enabled: bool
    recovery_codes_remaining: int


class GetMfaStatus:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: MfaStatusQuery) -> MfaStatus:
        user = query.principal.user
        if not user.mfa_enabled:
            return MfaStatus(totp_enabled=False, recovery_codes_remaining=0)
        async with self._uow() as uow:
            remaining = len(await uow.recovery_codes.unused(user.id))
        return MfaStatus(totp_enabled=True, recovery_codes_remaining=remaining)

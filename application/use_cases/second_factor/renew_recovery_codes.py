from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import MfaNotEnabled
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import PasswordHasher, TotpAuthenticator
from application.ports.system import Clock, IdGenerator
from application.security_notices import SecurityNotice, send_security_notice
from application.use_cases.second_factor.common import (
    new_recovery_codes,
    prove_current_password,
    prove_second_factor,
)
from domain.audit_event import AuditEventType


@dataclass(frozen=True, slots=True)
class RenewRecoveryCodesCommand:
    principal: Principal
    current_password: str
    code: str  # a TOTP code or a recovery code
    caller: Caller = NO_CALLER


class RenewRecoveryCodes:
    """Ten new recovery codes, shown this once; the old set stops working."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        authenticator: TotpAuthenticator,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._authenticator = authenticator
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: RenewRecoveryCodesCommand) -> list[str]:
        principal = command.principal
        if not principal.user.mfa_enabled:
            raise MfaNotEnabled()
        await prove_current_password(self._hasher, principal, command.current_password)
        now = self._clock.now()
        codes, stored = new_recovery_codes(self._ids, principal, now)
        async with self._uow() as uow:
            await prove_second_factor(uow, self._authenticator, principal, command.code, now)
            await uow.recovery_codes.replace(principal.user.id, stored)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.RECOVERY_CODES_RENEWED,
                    command.caller,
                    user_id=principal.user.id,
                    actor_id=principal.user.id,
                )
            )
            await send_security_notice(
                uow,
                ids=self._ids,
                to=principal.user.email,
                kind=SecurityNotice.RECOVERY_CODES_RENEWED,
                now=now,
            )
            await uow.commit()
        return codes

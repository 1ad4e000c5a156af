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
    prove_current_password,
    prove_second_factor,
    save_own_account,
)
from application.webhook_events import record_user_event, revoke_and_report
from domain.audit_event import AuditEventType
from domain.session_scope import SessionScope
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class DisableTotpCommand:
    principal: Principal
    current_password: str
    code: str  # a TOTP code or a recovery code
    caller: Caller = NO_CALLER


class DisableTotp:
    """TOTP off, with both factors proven: the recovery codes stop working and every other
    session ends."""

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

    async def execute(self, command: DisableTotpCommand) -> None:
        principal = command.principal
        if not principal.user.mfa_enabled:
            raise MfaNotEnabled()
        await prove_current_password(self._hasher, principal, command.current_password)
        now = self._clock.now()
        async with self._uow() as uow:
            await prove_second_factor(uow, self._authenticator, principal, command.code, now)
            user = uow.users.track(principal.user)
            user.turn_mfa_off(now)
            await save_own_account(uow, user)
            await record_user_event(uow, WebhookEventType.USER_UPDATED, user, self._ids, now)
            await uow.totp.delete(user.id)
            await uow.recovery_codes.delete_all(user.id)
            revoked = await revoke_and_report(
                uow, SessionScope.others(user.id, principal.session_id), self._ids, now
            )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.TOTP_DISABLED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id,
                    sessions_revoked=revoked,
                )
            )
            await send_security_notice(
                uow, ids=self._ids, to=user.email, kind=SecurityNotice.TOTP_DISABLED, now=now
            )
            await uow.commit()

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import InvalidMfaCode, MfaAlreadyEnabled, MfaNotEnabled
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import TotpAuthenticator
from application.ports.system import Clock, IdGenerator
from application.security_notices import SecurityNotice, send_security_notice
from application.use_cases.second_factor.common import new_recovery_codes, save_own_account
from application.webhook_events import record_user_event, revoke_and_report
from domain.audit_event import AuditEventType
from domain.session_scope import SessionScope
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class ConfirmTotpCommand:
    principal: Principal
    code: str
    caller: Caller = NO_CALLER


class ConfirmTotp:
    """A code from the app proves it holds the secret: TOTP is on, with ten recovery codes shown
    this once, and every other session ends (they were opened with a password alone). The
    confirming code counts as used."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        authenticator: TotpAuthenticator,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
    ) -> None:
        self._uow = uow
        self._authenticator = authenticator
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: ConfirmTotpCommand) -> list[str]:
        principal = command.principal
        now = self._clock.now()
        codes, stored = new_recovery_codes(self._ids, principal, now)
        async with self._uow() as uow:
            factor = await uow.totp.get(principal.user.id)
            if factor is None:
                raise MfaNotEnabled()
            if factor.is_enabled:
                raise MfaAlreadyEnabled()
            step = self._authenticator.matching_step(factor.secret, command.code.strip(), now)
            if step is None or not await uow.totp.confirm(factor, step, now):
                raise InvalidMfaCode()
            user = uow.users.track(principal.user)
            user.turn_mfa_on(now)
            await save_own_account(uow, user)
            await record_user_event(uow, WebhookEventType.USER_UPDATED, user, self._ids, now)
            await uow.recovery_codes.replace(user.id, stored)
            revoked = await revoke_and_report(
                uow, SessionScope.others(user.id, principal.session_id), self._ids, now
            )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.TOTP_ENABLED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id,
                    sessions_revoked=revoked,
                )
            )
            await send_security_notice(
                uow, ids=self._ids, to=user.email, kind=SecurityNotice.TOTP_ENABLED, now=now
            )
            await uow.commit()
        return codes

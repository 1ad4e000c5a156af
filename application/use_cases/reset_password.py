from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import InvalidOrExpiredToken
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import PasswordHasher
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token
from application.security_notices import SecurityNotice, send_security_notice
from application.webhook_events import record_user_event, revoke_and_report
from domain.audit_event import AuditEventType
from domain.one_time_token import TokenPurpose
from domain.password import PasswordPolicy
from domain.session_scope import SessionScope
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class ResetPasswordCommand:
    token: str
    new_password: str
    caller: Caller = NO_CALLER


class ResetPassword:
    """Set a new password with the single-use link from the reset email. Every session of the
    account is revoked: whoever knew the old password is logged out everywhere."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: ResetPasswordCommand) -> None:
        token_hash = hash_secret_token(command.token)
        async with self._uow() as uow:
            token = await uow.one_time_tokens.find_usable(
                token_hash, TokenPurpose.RESET_PASSWORD, self._clock.now()
            )
            user = await uow.users.get(token.user_id) if token else None
        if token is None or user is None or not user.is_active:
            raise InvalidOrExpiredToken()
        # A weak password is refused before the token is spent, so the person can try again.
        self._policy.check(command.new_password, user.email.value)
        new_hash = await self._hasher.hash(command.new_password)
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.one_time_tokens.consume(token.id, now):
                raise InvalidOrExpiredToken()  # used by a concurrent request meanwhile
            current = await uow.users.get(user.id)
            if current is None or not current.is_active:
                raise InvalidOrExpiredToken()
            current.set_password_hash(new_hash, now)
            await uow.users.save(current)
            await record_user_event(
                uow, WebhookEventType.USER_PASSWORD_CHANGED, current, self._ids, now
            )
            revoked = await revoke_and_report(
                uow, SessionScope.everything(current.id), self._ids, now
            )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.PASSWORD_RESET,
                    command.caller,
                    user_id=current.id,
                    actor_id=current.id,
                    sessions_revoked=revoked,
                )
            )
            await uow.one_time_tokens.invalidate_unused(
                current.id, TokenPurpose.RESET_PASSWORD, now
            )
            await send_security_notice(
                uow, ids=self._ids, to=current.email, kind=SecurityNotice.PASSWORD_RESET, now=now
            )
            await uow.commit()

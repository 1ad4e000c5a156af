from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import InvalidOrExpiredToken
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token
from application.webhook_events import record_user_event
from domain.audit_event import AuditEventType
from domain.one_time_token import TokenPurpose
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class VerifyEmailCommand:
    token: str
    caller: Caller = NO_CALLER


class VerifyEmail:
    """Mark the address verified with the single-use link from the verification email — only
    if it is still the account's address (a link sent to an old address proves nothing now)."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, audit: AuditEvents
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: VerifyEmailCommand) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            token = await uow.one_time_tokens.find_usable(
                hash_secret_token(command.token), TokenPurpose.VERIFY_EMAIL, now
            )
            user = await uow.users.get(token.user_id) if token else None
            if token is None or user is None or user.email.value != token.email:
                raise InvalidOrExpiredToken()
            if not await uow.one_time_tokens.consume(token.id, now):
                raise InvalidOrExpiredToken()
            was_verified = user.is_verified
            user.mark_verified(now)
            await uow.users.save(user)
            if not was_verified:
                await record_user_event(uow, WebhookEventType.USER_UPDATED, user, self._ids, now)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.EMAIL_VERIFIED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id,
                    email=user.email.value,
                )
            )
            await uow.commit()

from __future__ import annotations

from application.emails import password_reset_email
from application.mail_links import link_to
from application.outbox import OutboxMessage
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token, new_secret_token
from domain.email import Email
from domain.errors import InvalidEmail
from domain.one_time_token import (
    TOKEN_LIFETIMES,
    TOKEN_WINDOW,
    OneTimeToken,
    TokenPurpose,
    may_send_another,
)

PURPOSE = TokenPurpose.RESET_PASSWORD


class RequestPasswordReset:
    """Mail a single-use reset link — if the account exists, is active, and has not asked too
    often. The caller learns none of this: every request looks the same from outside, and the
    mail goes through the outbox, never on the request's path."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, public_url: str
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._public_url = public_url

    async def execute(self, raw_email: str) -> None:
        try:
            email = Email.parse(raw_email)
        except InvalidEmail:
            return
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is None or not user.is_active:
                return
            recent = await uow.one_time_tokens.count_created_since(
                user.id, PURPOSE, now - TOKEN_WINDOW
            )
            if not may_send_another(recent):
                return
            secret = new_secret_token()
            await uow.one_time_tokens.invalidate_unused(user.id, PURPOSE, now)
            await uow.one_time_tokens.add(
                OneTimeToken.issue(
                    id=self._ids.new_id(),
                    user_id=user.id,
                    purpose=PURPOSE,
                    token_hash=hash_secret_token(secret),
                    email=user.email.value,
                    now=now,
                )
            )
            minutes = int(TOKEN_LIFETIMES[PURPOSE].total_seconds() // 60)
            link = link_to(self._public_url, "reset-password", secret)
            message = password_reset_email(user.email.value, link, minutes)
            await uow.outbox.add(OutboxMessage.new(self._ids.new_id(), message, now))
            await uow.commit()

from __future__ import annotations

from uuid import UUID

from application.emails import verification_email
from application.errors import InvalidAccessToken
from application.mail_links import link_to
from application.outbox import OutboxMessage
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token, new_secret_token
from domain.one_time_token import (
    TOKEN_LIFETIMES,
    TOKEN_WINDOW,
    OneTimeToken,
    TokenPurpose,
    may_send_another,
)

PURPOSE = TokenPurpose.VERIFY_EMAIL


class RequestEmailVerification:
    """Mail a link that proves the caller owns their current address. Nothing is sent when it
    is already verified, or when they asked too often in the last hour."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, public_url: str
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._public_url = public_url

    async def execute(self, user_id: UUID) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise InvalidAccessToken()
            if user.is_verified:
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
            hours = int(TOKEN_LIFETIMES[PURPOSE].total_seconds() // 3600)
            link = link_to(self._public_url, "verify-email", secret)
            message = verification_email(user.email.value, link, hours)
            await uow.outbox.add(OutboxMessage.new(self._ids.new_id(), message, now))
            await uow.commit()

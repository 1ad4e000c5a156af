from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.emails import password_reset_email
from application.mailed_tokens import mail_single_use_link
from application.ports.mail import MailMessage
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from domain.email import Email
from domain.errors import InvalidEmail
from domain.one_time_token import TokenPurpose


@dataclass(frozen=True, slots=True)
class RequestPasswordResetCommand:
    email: str


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

    async def execute(self, command: RequestPasswordResetCommand) -> None:
        try:
            email = Email.parse(command.email)
        except InvalidEmail:
            return
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is None or not user.is_active:
                return
            sent = await mail_single_use_link(
                uow,
                ids=self._ids,
                user=user,
                purpose=TokenPurpose.RESET_PASSWORD,
                public_url=self._public_url,
                page="reset-password",
                compose=_reset_email,
                now=now,
            )
            if not sent:
                return
            await uow.commit()


def _reset_email(to: str, link: str, lifetime: timedelta) -> MailMessage:
    return password_reset_email(to, link, int(lifetime.total_seconds() // 60))

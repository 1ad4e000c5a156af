from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.caller import Principal
from application.emails import verification_email
from application.errors import InvalidAccessToken
from application.mailed_tokens import mail_single_use_link
from application.ports.mail import MailMessage
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from domain.one_time_token import TokenPurpose


@dataclass(frozen=True, slots=True)
class RequestEmailVerificationCommand:
    principal: Principal


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

    async def execute(self, command: RequestEmailVerificationCommand) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(command.principal.user.id)
            if user is None:
                raise InvalidAccessToken()
            if user.is_verified:
                return
            sent = await mail_single_use_link(
                uow,
                ids=self._ids,
                user=user,
                purpose=TokenPurpose.VERIFY_EMAIL,
                public_url=self._public_url,
                page="verify-email",
                compose=_verification_email,
                now=now,
            )
            if not sent:
                return
            await uow.commit()


def _verification_email(to: str, link: str, lifetime: timedelta) -> MailMessage:
    return verification_email(to, link, int(lifetime.total_seconds() // 3600))

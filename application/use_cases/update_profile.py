from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import InvalidAccessToken, NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.security_notices import SecurityNotice, send_security_notice
from application.unset import UNSET, Unset
from domain.audit_event import AuditEventType
from domain.email import Email
from domain.user import User, check_display_name


@dataclass(frozen=True, slots=True)
class UpdateProfileCommand:
    principal: Principal
    name: str | Unset | None = UNSET
    email: str | Unset = UNSET
    caller: Caller = NO_CALLER


class UpdateProfile:
    """A person edits their own name or email; a new email must be verified again."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, audit: AuditEvents
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: UpdateProfileCommand) -> User:
        name = command.name if command.name is UNSET else check_display_name(command.name)
        new_email = None if command.email is UNSET else Email.parse(command.email)
        now = self._clock.now()
        async with self._uow() as uow:
            # Authentication read the user a moment ago; reading them again inside the
            # transaction would lock nothing either, so the edit starts from that read.
            user = uow.users.track(command.principal.user)
            if not user.is_active:
                raise InvalidAccessToken()
            old_email = user.email
            if name is not UNSET:
                user.rename(name, now)
            if new_email is not None:
                user.change_email(new_email, now)
            try:
                await uow.users.save(user)
            except NotFound:  # deleted since authentication: as if the token were refused
                raise InvalidAccessToken() from None
            if user.email != old_email:
                await uow.audit.record(
                    self._audit.event(
                        AuditEventType.EMAIL_CHANGED,
                        command.caller,
                        user_id=user.id,
                        actor_id=user.id,
                    )
                )
                await send_security_notice(
                    uow, ids=self._ids, to=old_email, kind=SecurityNotice.EMAIL_CHANGED, now=now
                )
            await uow.commit()
        return user

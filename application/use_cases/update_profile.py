from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import (
    CurrentPasswordRequired,
    InvalidAccessToken,
    InvalidCurrentPassword,
    NotFound,
)
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import PasswordHasher
from application.ports.system import Clock, IdGenerator
from application.security_notices import SecurityNotice, send_security_notice
from application.unset import UNSET, Unset
from application.webhook_events import record_user_event
from domain.audit_event import AuditEventType
from domain.email import Email
from domain.user import User, check_display_name
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class UpdateProfileCommand:
    principal: Principal
    name: str | Unset | None = UNSET
    email: str | Unset = UNSET
    current_password: str | None = None  # needed only when the email changes
    caller: Caller = NO_CALLER


class UpdateProfile:
    """A person edits their own name or email. A new email takes the current password, so that
    a stolen access token alone cannot move the account (and its password resets) to another
    address; it must be verified again, and the old address is told."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: UpdateProfileCommand) -> User:
        name = command.name if command.name is UNSET else check_display_name(command.name)
        new_email = None if command.email is UNSET else Email.parse(command.email)
        if not command.principal.user.is_active:
            raise InvalidAccessToken()
        if new_email is not None and new_email != command.principal.user.email:
            return await self._change_email(command, name, new_email)
        return await self._rename(command, name)

    async def _rename(self, command: UpdateProfileCommand, name: str | Unset | None) -> User:
        now = self._clock.now()
        async with self._uow() as uow:
            # Authentication read the user a moment ago; reading them again inside the
            # transaction would lock nothing either, so the edit starts from that read.
            user = uow.users.track(command.principal.user)
            if name is not UNSET:
                user.rename(name, now)
            try:
                await uow.users.save(user)
            except NotFound:  # deleted since authentication: as if the token were refused
                raise InvalidAccessToken() from None
            if user.name != command.principal.user.name:
                await record_user_event(uow, WebhookEventType.USER_UPDATED, user, self._ids, now)
            await uow.commit()
        return user

    async def _change_email(
        self, command: UpdateProfileCommand, name: str | Unset | None, new_email: Email
    ) -> User:
        proven = command.principal.user
        if command.current_password is None:
            raise CurrentPasswordRequired()
        # Checked before the transaction opens: bcrypt takes long, and must hold no connection.
        if not await self._hasher.verify(command.current_password, proven.password_hash):
            raise InvalidCurrentPassword()
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(proven.id)
            if user is None or not user.is_active:
                raise InvalidAccessToken()
            if user.password_hash != proven.password_hash:
                # Changed while we were checking it: the proof we checked is stale.
                raise InvalidCurrentPassword()
            old_email, old_name = user.email, user.name
            if name is not UNSET:
                user.rename(name, now)
            user.change_email(new_email, now)
            await uow.users.save(user)
            if (user.email, user.name) != (old_email, old_name):
                await record_user_event(uow, WebhookEventType.USER_UPDATED, user, self._ids, now)
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

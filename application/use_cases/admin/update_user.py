from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.authorization import require_admin
from application.caller import Caller, Principal
from application.errors import NotFound
from application.last_admin import ensure_an_admin_remains, lock_admins
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.security_notices import SecurityNotice, send_security_notice
from application.unset import UNSET, Unset
from application.webhook_events import (
    changed_since,
    record_user_event,
    revoke_and_report,
    user_data,
)
from domain.audit_event import AuditEvent, AuditEventType
from domain.email import Email
from domain.role import Role
from domain.session_scope import SessionScope
from domain.user import User
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class UpdateUserCommand:
    principal: Principal
    user_id: UUID
    caller: Caller
    name: str | Unset | None = UNSET
    email: str | Unset = UNSET
    role: Role | Unset = UNSET
    is_active: bool | Unset = UNSET
    is_verified: bool | Unset = UNSET


class UpdateUser:
    """An admin fixes an account. Deactivating it ends every session at once; no change may
    leave the service without an active admin."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, audit: AuditEvents
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: UpdateUserCommand) -> User:
        actor = command.principal.user
        require_admin(actor)
        new_email = None if command.email is UNSET else Email.parse(command.email)
        now = self._clock.now()
        async with self._uow() as uow:
            admins_before = await lock_admins(uow)
            user = await uow.users.get(command.user_id)
            if user is None:
                raise NotFound("user")
            was = (user.role, user.is_active, user.email)
            before = user_data(user)
            if command.name is not UNSET:
                user.rename(command.name, now)
            if new_email is not None:
                user.change_email(new_email, now)
            if command.is_verified is not UNSET:
                user.is_verified = command.is_verified
                user.updated_at = now
            if command.role is not UNSET:
                user.role = command.role
                user.updated_at = now
            if command.is_active is not UNSET:
                user.is_active = command.is_active
                user.updated_at = now
            await uow.users.save(user)
            if changed_since(before, user):
                await record_user_event(uow, WebhookEventType.USER_UPDATED, user, self._ids, now)
            if was[1] and not user.is_active:
                await revoke_and_report(uow, SessionScope.everything(user.id), self._ids, now)
            await ensure_an_admin_remains(uow, admins_before)
            for event in self._events(actor, user, was, command.caller):
                await uow.audit.record(event)
            if user.email != was[2]:
                await send_security_notice(
                    uow,
                    ids=self._ids,
                    to=was[2],
                    kind=SecurityNotice.EMAIL_CHANGED,
                    now=now,
                    by_admin=True,
                )
            await uow.commit()
        return user

    def _events(
        self, actor: User, user: User, was: tuple[Role, bool, Email], caller: Caller
    ) -> list[AuditEvent]:
        role, active, email = was
        events: list[AuditEvent] = []
        if user.role != role:
            events.append(
                self._audit.event(
                    AuditEventType.ROLE_CHANGED,
                    caller,
                    user_id=user.id,
                    actor_id=actor.id,
                    old=role.value,
                    new=user.role.value,
                )
            )
        if user.is_active != active:
            kind = AuditEventType.ACTIVATED if user.is_active else AuditEventType.DEACTIVATED
            events.append(self._audit.event(kind, caller, user_id=user.id, actor_id=actor.id))
        if user.email != email:
            events.append(
                self._audit.event(
                    AuditEventType.EMAIL_CHANGED, caller, user_id=user.id, actor_id=actor.id
                )
            )
        return events

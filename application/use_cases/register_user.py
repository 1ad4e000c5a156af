from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import PasswordHasher
from application.ports.system import Clock, IdGenerator
from application.webhook_events import record_user_event
from domain.audit_event import AuditEventType
from domain.email import Email
from domain.password import PasswordPolicy
from domain.role import Role
from domain.user import User, check_display_name
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class RegisterUserCommand:
    """`actor_id` is the admin creating the account; None for a person signing up, or for the
    operator when `via` names the tool used (`create-admin`: "cli")."""

    email: str
    password: str
    name: str | None = None
    role: Role = Role.USER
    caller: Caller = NO_CALLER
    actor_id: UUID | None = None
    via: str | None = None


class RegisterUser:
    """Sign a new person up (or, for an admin, create an account)."""

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

    async def execute(self, command: RegisterUserCommand) -> User:
        email = Email.parse(command.email)
        name = check_display_name(command.name)
        self._policy.check(command.password, email.value)
        password_hash = await self._hasher.hash(command.password)
        user = User.register(
            id=self._ids.new_id(),
            email=email,
            password_hash=password_hash,
            name=name,
            role=command.role,
            now=self._clock.now(),
        )
        signed_up = command.actor_id is None and command.via is None
        via_data = {"via": command.via} if command.via is not None else {}
        async with self._uow() as uow:
            await uow.users.add(user)
            await record_user_event(
                uow, WebhookEventType.USER_CREATED, user, self._ids, user.created_at
            )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.SIGNED_UP if signed_up else AuditEventType.USER_CREATED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id if signed_up else command.actor_id,
                    role=user.role.value,
                    **via_data,
                )
            )
            await uow.commit()
        return user

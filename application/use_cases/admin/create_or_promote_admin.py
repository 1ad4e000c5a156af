from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER
from application.errors import NewAccountNeedsPassword
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from application.webhook_events import record_user_event
from domain.audit_event import AuditEventType
from domain.email import Email
from domain.role import Role
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class CreateOrPromoteAdminCommand:
    """`password` is used only when no account has this email; None asks for none."""

    email: str
    password: str | None = None


@dataclass(frozen=True, slots=True)
class AdminOutcome:
    email: str
    created: bool


class CreateOrPromoteAdmin:
    """The operator's way in (`portcullis create-admin`): make the account with this email an
    active admin, creating it with the given password if there is none. An existing account
    keeps its password."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        register: RegisterUser,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
    ) -> None:
        self._uow = uow
        self._register = register
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: CreateOrPromoteAdminCommand) -> AdminOutcome:
        email = Email.parse(command.email)
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is not None:
                was = (user.role, user.is_active)
                user.role = Role.ADMIN
                user.is_active = True
                user.updated_at = self._clock.now()
                await uow.users.save(user)
                if was != (Role.ADMIN, True):
                    await record_user_event(
                        uow, WebhookEventType.USER_UPDATED, user, self._ids, user.updated_at
                    )
                if was[0] is not Role.ADMIN:
                    await uow.audit.record(
                        self._audit.event(
                            AuditEventType.ROLE_CHANGED,
                            NO_CALLER,
                            user_id=user.id,
                            actor_id=None,
                            old=was[0].value,
                            new=Role.ADMIN.value,
                            via="cli",
                        )
                    )
                if not was[1]:
                    await uow.audit.record(
                        self._audit.event(
                            AuditEventType.ACTIVATED, NO_CALLER, user_id=user.id, actor_id=None
                        )
                    )
                await uow.commit()
                return AdminOutcome(email=email.value, created=False)
        if command.password is None:
            raise NewAccountNeedsPassword()
        created = await self._register.execute(
            RegisterUserCommand(
                email=email.value, password=command.password, role=Role.ADMIN, via="cli"
            )
        )
        return AdminOutcome(email=created.email.value, created=True)

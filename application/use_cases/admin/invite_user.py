from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.authorization import require_admin
from application.caller import NO_CALLER, Caller, Principal
from application.emails import invitation_email
from application.errors import EmailAlreadyRegistered
from application.mail_links import link_to
from application.outbox import OutboxMessage
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token, new_secret_token
from domain.audit_event import AuditEventType
from domain.email import Email
from domain.invitation import INVITATION_LIFETIME, Invitation
from domain.role import Role
from domain.user import check_display_name


@dataclass(frozen=True, slots=True)
class InviteUserCommand:
    principal: Principal
    email: str
    role: Role = Role.USER
    name: str | None = None
    caller: Caller = NO_CALLER


class InviteUser:
    """An admin invites someone by email: a single-use link to choose a password is mailed
    (through the outbox), and no account exists until it is accepted. Inviting an address again
    replaces its pending invitation: only the newest link works."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
        public_url: str,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit
        self._public_url = public_url

    async def execute(self, command: InviteUserCommand) -> Invitation:
        actor = command.principal.user
        require_admin(actor)
        email = Email.parse(command.email)
        name = check_display_name(command.name)
        now = self._clock.now()
        secret = new_secret_token()
        invitation = Invitation.issue(
            id=self._ids.new_id(),
            email=email,
            role=command.role,
            name=name,
            token_hash=hash_secret_token(secret),
            invited_by=actor.id,
            now=now,
        )
        link = link_to(self._public_url, "accept-invitation", secret)
        message = invitation_email(email.value, link, INVITATION_LIFETIME.days)
        async with self._uow() as uow:
            if await uow.users.get_by_email(email) is not None:
                raise EmailAlreadyRegistered()
            replaced = await uow.invitations.withdraw_pending(email)
            await uow.invitations.add(invitation)
            await uow.outbox.add(OutboxMessage.new(self._ids.new_id(), message, now))
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.INVITATION_CREATED,
                    command.caller,
                    user_id=None,
                    actor_id=actor.id,
                    invitation_id=str(invitation.id),
                    email=email.value,
                    role=invitation.role.value,
                    replaced=replaced,
                )
            )
            await uow.commit()
        return invitation

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import EmailAlreadyRegistered, InvalidOrExpiredToken
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import PasswordHasher
from application.ports.system import Clock, IdGenerator
from application.secret_tokens import hash_secret_token
from application.webhook_events import record_user_event
from domain.audit_event import AuditEventType
from domain.password import PasswordPolicy
from domain.user import User, check_display_name
from domain.webhook import WebhookEventType


@dataclass(frozen=True, slots=True)
class AcceptInvitationCommand:
    token: str
    password: str
    name: str | None = None
    caller: Caller = NO_CALLER


class AcceptInvitation:
    """Open the invited account: verified (the link reached the address), with the role the
    admin chose, and the password and name the person chose. Spending the invitation and
    creating the account are one transaction, so of two submissions of one link exactly one
    makes an account; and if the address got an account meanwhile (a signup), nothing changes:
    the invitation is not spent and no second account is made."""

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

    async def execute(self, command: AcceptInvitationCommand) -> User:
        async with self._uow() as uow:
            invitation = await uow.invitations.find_usable(
                hash_secret_token(command.token), self._clock.now()
            )
        if invitation is None:
            raise InvalidOrExpiredToken()
        # Refused before anything is spent, so the person can correct them and try again.
        name = check_display_name(command.name)
        self._policy.check(command.password, invitation.email.value)
        password_hash = await self._hasher.hash(command.password)
        now = self._clock.now()
        user = User.register(
            id=self._ids.new_id(),
            email=invitation.email,
            password_hash=password_hash,
            name=name,
            role=invitation.role,
            now=now,
        )
        user.mark_verified(now)
        async with self._uow() as uow:
            if not await uow.invitations.accept(invitation.id, now):
                raise InvalidOrExpiredToken()  # accepted by a concurrent request meanwhile
            if await uow.users.get_by_email(invitation.email) is not None:
                raise EmailAlreadyRegistered()
            await uow.users.add(user)  # EmailAlreadyRegistered too if a signup wins the race
            await record_user_event(uow, WebhookEventType.USER_CREATED, user, self._ids, now)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.INVITATION_ACCEPTED,
                    command.caller,
                    user_id=user.id,
                    actor_id=user.id,
                    invitation_id=str(invitation.id),
                    invited_by=str(invitation.invited_by) if invitation.invited_by else None,
                    role=user.role.value,
                )
            )
            await uow.commit()
        return user

"""The upstream accounts linked to the signed-in account: listed, and unlinked while another way
to sign in remains."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import LastLoginMethod, NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.upstream import UpstreamProvider, UpstreamProviders
from application.ways_in import has_a_way_in
from domain.audit_event import AuditEventType
from domain.linked_identity import LinkedIdentity


class ListUpstreamProviders:
    def __init__(self, providers: UpstreamProviders) -> None:
        self._providers = providers

    def execute(self) -> list[UpstreamProvider]:
        """Every configured provider, in the settings' order: public, for sign-in buttons."""
        return list(self._providers.configured())


@dataclass(frozen=True, slots=True)
class ListIdentitiesQuery:
    principal: Principal


class ListIdentities:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, query: ListIdentitiesQuery) -> list[LinkedIdentity]:
        async with self._uow() as uow:
            return await uow.linked_identities.list_of_user(query.principal.user.id)


@dataclass(frozen=True, slots=True)
class UnlinkIdentityCommand:
    principal: Principal
    identity_id: UUID
    caller: Caller = NO_CALLER


class UnlinkIdentity:
    """Another account's identity, or one already unlinked, is NotFound. Unlinking is refused
    (LastLoginMethod) when the account would be left with no password, no passkey and no
    other linked identity, decided in the transaction that unlinks, on the account as stored
    (its row locked), so two unlinks of its last two identities cannot both pass."""

    def __init__(self, uow: UnitOfWorkFactory, audit: AuditEvents) -> None:
        self._uow = uow
        self._audit = audit

    async def execute(self, command: UnlinkIdentityCommand) -> None:
        user_id = command.principal.user.id
        async with self._uow() as uow:
            user = await uow.users.get_for_update(user_id)
            if user is None:
                raise NotFound("identity")
            identity = next(
                (
                    i
                    for i in await uow.linked_identities.list_of_user(user_id)
                    if i.id == command.identity_id
                ),
                None,
            )
            # Unlinked first, checked after: see get_for_update.
            if identity is None or not await uow.linked_identities.delete(user_id, identity.id):
                raise NotFound("identity")
            if not await has_a_way_in(uow, user):
                raise LastLoginMethod()
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.IDENTITY_UNLINKED,
                    command.caller,
                    user_id=user_id,
                    actor_id=user_id,
                    identity_id=str(identity.id),
                    provider=identity.provider,
                )
            )
            await uow.commit()

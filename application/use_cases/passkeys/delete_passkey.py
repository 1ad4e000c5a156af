from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import LastLoginMethod, NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ways_in import has_a_way_in
from domain.audit_event import AuditEventType


@dataclass(frozen=True, slots=True)
class DeletePasskeyCommand:
    principal: Principal
    passkey_id: UUID
    caller: Caller = NO_CALLER


class DeletePasskey:
    """Remove one of the signed-in account's passkeys; another account's is not found.

    The removal is refused (`LastLoginMethod`) only when it would leave the account no way to
    sign in: no password, no other passkey and no linked identity at an upstream provider
    (an account made through one has no password until it sets one through forgot-password).
    The rule is decided inside the transaction that deletes, on the account as stored, its
    row locked."""

    def __init__(self, uow: UnitOfWorkFactory, audit: AuditEvents) -> None:
        self._uow = uow
        self._audit = audit

    async def execute(self, command: DeletePasskeyCommand) -> None:
        user_id = command.principal.user.id
        async with self._uow() as uow:
            user = await uow.users.get_for_update(user_id)
            passkey = await uow.passkeys.get(command.passkey_id)
            if user is None or passkey is None or passkey.user_id != user_id:
                raise NotFound("passkey")
            await uow.passkeys.delete(passkey.id)
            # Removed first, checked after: see UserRepository.get_for_update.
            if not await has_a_way_in(uow, user):
                raise LastLoginMethod()
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.PASSKEY_REMOVED,
                    command.caller,
                    user_id=user_id,
                    actor_id=user_id,
                    passkey_id=str(passkey.id),
                )
            )
            await uow.commit()

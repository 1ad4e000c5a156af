from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.use_cases.passkeys.common import PasskeyView
from domain.audit_event import AuditEventType


@dataclass(frozen=True, slots=True)
class RenamePasskeyCommand:
    principal: Principal
    passkey_id: UUID
    name: str
    caller: Caller = NO_CALLER


class RenamePasskey:
    """Another account's passkey is not found, as if it did not exist."""

    def __init__(self, uow: UnitOfWorkFactory, audit: AuditEvents) -> None:
        self._uow = uow
        self._audit = audit

    async def execute(self, command: RenamePasskeyCommand) -> PasskeyView:
        user_id = command.principal.user.id
        async with self._uow() as uow:
            passkey = await uow.passkeys.get(command.passkey_id)
            if passkey is None or passkey.user_id != user_id:
                raise NotFound("passkey")
            passkey.rename(command.name)
            await uow.passkeys.save(passkey)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.PASSKEY_RENAMED,
                    command.caller,
                    user_id=user_id,
                    actor_id=user_id,
                    passkey_id=str(passkey.id),
                )
            )
            await uow.commit()
        return PasskeyView.of(passkey)

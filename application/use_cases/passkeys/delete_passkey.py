from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import LastLoginMethod, NotFound
from application.ports.persistence import UnitOfWorkFactory
from domain.audit_event import AuditEventType
from domain.user import User


@dataclass(frozen=True, slots=True)
class DeletePasskeyCommand:
    principal: Principal
    passkey_id: UUID
    caller: Caller = NO_CALLER


class DeletePasskey:
    """Remove one of the signed-in account's passkeys; another account's is not found.

    The removal is refused (`LastLoginMethod`) only when it would leave the account no way to
    sign in: no password and no other passkey. The rule is evaluated inside the transaction that
    deletes, on the account as stored and the passkeys it has then (`has_password` below reads
    the stored hash). Every account has a password today, so today the refusal never happens;
    the rule is here for accounts made through an upstream provider, which have no password
    until they set one through forgot-password.
    """

    def __init__(self, uow: UnitOfWorkFactory, audit: AuditEvents) -> None:
        self._uow = uow
        self._audit = audit

    async def execute(self, command: DeletePasskeyCommand) -> None:
        user_id = command.principal.user.id
        async with self._uow() as uow:
            passkey = await uow.passkeys.get(command.passkey_id)
            if passkey is None or passkey.user_id != user_id:
                raise NotFound("passkey")
            user = await uow.users.get(user_id)
            others = [p for p in await uow.passkeys.list_of_user(user_id) if p.id != passkey.id]
            if user is not None and not has_password(user) and not others:
                raise LastLoginMethod()
            await uow.passkeys.delete(passkey.id)
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


def has_password(user: User) -> bool:
    """An account without a password stores an empty hash."""
    return bool(user.password_hash)

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller, Principal
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.use_cases.oidc.client_ids import could_be_client_id
from application.webhook_events import revoke_of_client_and_report
from domain.audit_event import AuditEventType


@dataclass(frozen=True, slots=True)
class WithdrawGrantCommand:
    principal: Principal
    client_id: str
    caller: Caller = NO_CALLER


class WithdrawGrant:
    """The account takes back its consent to an application, and every token that application
    holds for it stops working: the grant and the client's sessions of the account end in one
    transaction, so there is no moment when the consent is gone and a token still refreshes.

    A grant the account never gave (another account's, an unknown client, a malformed id) is
    NotFound, like one already withdrawn: client ids cannot be probed through it."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, audit: AuditEvents
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def execute(self, command: WithdrawGrantCommand) -> None:
        user_id = command.principal.user.id
        if not could_be_client_id(command.client_id):
            raise NotFound("grant")
        async with self._uow() as uow:
            if not await uow.oauth_grants.delete(user_id, command.client_id):
                raise NotFound("grant")
            revoked = await revoke_of_client_and_report(
                uow, user_id, command.client_id, self._ids, self._clock.now()
            )
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.CONSENT_WITHDRAWN,
                    command.caller,
                    user_id=user_id,
                    actor_id=user_id,
                    client_id=command.client_id,
                    sessions_revoked=revoked,
                )
            )
            await uow.commit()

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.use_cases.oauth_clients.common import ClientManager, authorize, how
from domain.audit_event import AuditEventType


@dataclass(frozen=True, slots=True)
class DeleteClientCommand:
    by: ClientManager
    client_id: str
    caller: Caller = NO_CALLER


class DeleteClient:
    """Unregister a client; every session issued to it ends with it, so its tokens stop
    working."""

    def __init__(self, uow: UnitOfWorkFactory, audit: AuditEvents) -> None:
        self._uow = uow
        self._audit = audit

    async def execute(self, command: DeleteClientCommand) -> None:
        actor_id = authorize(command.by)
        async with self._uow() as uow:
            client = await uow.oauth_clients.get(command.client_id)
            if client is None:
                raise NotFound("client")
            await uow.oauth_clients.delete(client.client_id)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.OAUTH_CLIENT_DELETED,
                    command.caller,
                    user_id=None,
                    actor_id=actor_id,
                    client_id=client.client_id,
                    **how(command.by),
                )
            )
            await uow.commit()

from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.client_credentials import hash_client_secret, new_client_secret
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock
from application.use_cases.oauth_clients.common import ClientManager, authorize, how
from domain.audit_event import AuditEventType


@dataclass(frozen=True, slots=True)
class RenewClientSecretCommand:
    by: ClientManager
    client_id: str
    caller: Caller = NO_CALLER


class RenewClientSecret:
    """A confidential client gets a new secret, returned this once; the old one stops working.
    A public client has none to renew (ClientHasNoSecret)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: AuditEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit

    async def execute(self, command: RenewClientSecretCommand) -> str:
        actor_id = authorize(command.by)
        secret = new_client_secret()
        async with self._uow() as uow:
            client = await uow.oauth_clients.get(command.client_id)
            if client is None:
                raise NotFound("client")
            client.renew_secret(hash_client_secret(secret), self._clock.now())
            await uow.oauth_clients.save_secret(client)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.OAUTH_CLIENT_SECRET_RENEWED,
                    command.caller,
                    user_id=None,
                    actor_id=actor_id,
                    client_id=client.client_id,
                    **how(command.by),
                )
            )
            await uow.commit()
        return secret

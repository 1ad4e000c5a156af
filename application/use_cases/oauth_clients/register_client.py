from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.client_credentials import hash_client_secret, new_client_id, new_client_secret
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock
from application.use_cases.oauth_clients.common import ClientManager, authorize, how
from domain.audit_event import AuditEventType
from domain.oauth_client import ClientType, IdTokenAlgorithm, OAuthClient


@dataclass(frozen=True, slots=True)
class RegisterClientCommand:
    by: ClientManager
    name: str
    type: ClientType
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    first_party: bool = False
    id_token_signed_response_alg: IdTokenAlgorithm = IdTokenAlgorithm.RS256
    caller: Caller = NO_CALLER


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """`client_secret` is the confidential client's secret, here and never again (None for a
    public client)."""

    client: OAuthClient
    client_secret: str | None


class RegisterClient:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: AuditEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit

    async def execute(self, command: RegisterClientCommand) -> RegisteredClient:
        actor_id = authorize(command.by)
        secret = new_client_secret() if command.type is ClientType.CONFIDENTIAL else None
        client = OAuthClient.register(
            client_id=new_client_id(),
            name=command.name,
            type=command.type,
            redirect_uris=command.redirect_uris,
            post_logout_redirect_uris=command.post_logout_redirect_uris,
            first_party=command.first_party,
            id_token_signed_response_alg=command.id_token_signed_response_alg,
            secret_hash=hash_client_secret(secret) if secret is not None else None,
            now=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.oauth_clients.add(client)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.OAUTH_CLIENT_REGISTERED,
                    command.caller,
                    user_id=None,
                    actor_id=actor_id,
                    client_id=client.client_id,
                    **how(command.by),
                )
            )
            await uow.commit()
        return RegisteredClient(client=client, client_secret=secret)

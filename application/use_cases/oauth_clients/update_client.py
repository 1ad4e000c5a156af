from __future__ import annotations

from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock
from application.unset import UNSET, Unset
from application.use_cases.oauth_clients.common import ClientManager, authorize, how
from domain.audit_event import AuditEventType
from domain.oauth_client import IdTokenAlgorithm, OAuthClient

EDITABLE_FIELDS = (
    "name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "first_party",
    "id_token_signed_response_alg",
)


@dataclass(frozen=True, slots=True)
class UpdateClientCommand:
    """Only the fields given change. A client's type never does: register another client."""

    by: ClientManager
    client_id: str
    name: str | Unset = UNSET
    redirect_uris: tuple[str, ...] | Unset = UNSET
    post_logout_redirect_uris: tuple[str, ...] | Unset = UNSET
    first_party: bool | Unset = UNSET
    id_token_signed_response_alg: IdTokenAlgorithm | Unset = UNSET
    caller: Caller = NO_CALLER


class UpdateClient:
    """A change that changes nothing (the values it already has) is not written or recorded."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: AuditEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit

    async def execute(self, command: UpdateClientCommand) -> OAuthClient:
        actor_id = authorize(command.by)
        now = self._clock.now()
        async with self._uow() as uow:
            client = await uow.oauth_clients.get(command.client_id)
            if client is None:
                raise NotFound("client")
            before = {name: getattr(client, name) for name in EDITABLE_FIELDS}
            if command.name is not UNSET and command.name != client.name:
                client.rename(command.name, now)
            if command.redirect_uris is not UNSET and command.redirect_uris != client.redirect_uris:
                client.change_redirect_uris(command.redirect_uris, now)
            uris = command.post_logout_redirect_uris
            if uris is not UNSET and uris != client.post_logout_redirect_uris:
                client.change_post_logout_redirect_uris(uris, now)
            if command.first_party is not UNSET and command.first_party != client.first_party:
                client.set_first_party(command.first_party, now)
            algorithm = command.id_token_signed_response_alg
            if algorithm is not UNSET and algorithm != client.id_token_signed_response_alg:
                client.sign_id_tokens_with(algorithm, now)
            changed = [name for name in EDITABLE_FIELDS if getattr(client, name) != before[name]]
            if not changed:
                return client
            await uow.oauth_clients.save(client)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.OAUTH_CLIENT_CHANGED,
                    command.caller,
                    user_id=None,
                    actor_id=actor_id,
                    client_id=client.client_id,
                    fields=changed,
                    **how(command.by),
                )
            )
            await uow.commit()
        return client

from __future__ import annotations

import secrets
from dataclasses import dataclass

from application.audit import AuditEvents
from application.caller import NO_CALLER, Caller
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.ports.webhooks import WebhookTargets
from application.use_cases.webhooks.common import (
    WebhookManager,
    authorize,
    how,
    valid_description,
    valid_events,
    valid_url,
)
from domain.audit_event import AuditEventType
from domain.webhook import Webhook, format_secret

SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class RegisterWebhookCommand:
    """`events`: event type names, or just `*` for every type."""

    by: WebhookManager
    url: str
    events: tuple[str, ...]
    description: str | None = None
    caller: Caller = NO_CALLER


class RegisterWebhook:
    """The new webhook holds its signing secret in clear: the caller shows it this once."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditEvents,
        targets: WebhookTargets,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit
        self._targets = targets

    async def execute(self, command: RegisterWebhookCommand) -> Webhook:
        actor_id = authorize(command.by)
        url = valid_url(command.url)
        events = valid_events(command.events)
        description = valid_description(command.description)
        await self._targets.check(url)
        now = self._clock.now()
        webhook = Webhook(
            id=self._ids.new_id(),
            url=url,
            events=events,
            description=description,
            secret=format_secret(secrets.token_bytes(SECRET_BYTES)),
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            await uow.webhooks.add(webhook)
            await uow.audit.record(
                self._audit.event(
                    AuditEventType.WEBHOOK_REGISTERED,
                    command.caller,
                    user_id=None,
                    actor_id=actor_id,
                    webhook_id=str(webhook.id),
                    url=webhook.url,
                    events=sorted(webhook.events),
                    **how(command.by),
                )
            )
            await uow.commit()
        return webhook

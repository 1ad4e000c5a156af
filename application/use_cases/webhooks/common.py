"""What the webhook use cases share: who may manage webhooks, how that is written in the audit
trail, and the rules a webhook's fields follow."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from application.authorization import require_admin
from application.caller import Operator, Principal
from application.errors import InvalidWebhook
from domain.webhook import ALL_EVENTS, WebhookEventType

# An admin signed in to the API, or the operator at the command line.
WebhookManager = Principal | Operator

MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
EVENT_TYPES = frozenset(type.value for type in WebhookEventType)


def authorize(by: WebhookManager) -> UUID | None:
    """Refuse anyone but an admin or the operator; the admin's id for the audit trail (the
    operator has none)."""
    if isinstance(by, Operator):
        return None
    require_admin(by.user)
    return by.user.id


def how(by: WebhookManager) -> dict[str, Any]:
    """What the audit trail notes of the way in: the operator's tool."""
    return {"via": by.via} if isinstance(by, Operator) else {}


def valid_url(url: str) -> str:
    """The url's shape; whether it may be sent to (its scheme and where its host resolves) is
    for WebhookTargets, asked again at every delivery."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhook(f"url: at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidWebhook("url: not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidWebhook("url: an absolute https URL")
    # Credentials in a url would be stored and shown to every admin; a fragment is never sent.
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhook("url: no user name or password in it")
    if parts.fragment or url.endswith("#"):
        raise InvalidWebhook("url: no fragment")
    if port == 0:
        raise InvalidWebhook("url: not a valid URL")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise InvalidWebhook("url: no spaces or control characters")
    return url


def valid_events(events: tuple[str, ...]) -> frozenset[str]:
    if not events:
        raise InvalidWebhook("events: at least one event type, or '*' for all")
    chosen = frozenset(events)
    if ALL_EVENTS in chosen:
        if len(chosen) > 1:
            raise InvalidWebhook("events: '*' stands alone: it already means every type")
        return chosen
    unknown = sorted(chosen - EVENT_TYPES)
    if unknown:
        raise InvalidWebhook(f"events: no such event type: {', '.join(unknown)}")
    return chosen


def valid_description(description: str | None) -> str | None:
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidWebhook(f"description: at most {MAX_DESCRIPTION_LENGTH} characters")
    return description

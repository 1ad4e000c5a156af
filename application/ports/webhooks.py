"""Where webhooks may point."""

from __future__ import annotations

from typing import Protocol


class WebhookTargets(Protocol):
    async def check(self, url: str) -> None:
        """Raise UnsafeWebhookTarget unless the url may be sent to now: https to a host whose
        every address is public (unless the operator allows private targets). A name may
        resolve elsewhere later, so this is asked again before every delivery."""

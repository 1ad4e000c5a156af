from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from application.outbox import MAX_ATTEMPTS, retry_delay
from application.ports.mail import MailDeliveryFailed, Mailer
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)
# No send starts later than this after the claim: one still running when the claim lapses could
# be sent a second time by another dispatcher. What is left waits for its claim to lapse.
LAST_SEND_START = CLAIM_LEASE / 2
BATCH_SIZE = 20


@dataclass(frozen=True, slots=True)
class DispatchOutboxCommand:
    """Nothing to choose: whatever is due goes, up to one batch."""


@dataclass(frozen=True, slots=True)
class DispatchReport:
    sent: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.failed


class DispatchOutbox:
    """Deliver one batch of due mail. Each message is claimed atomically first, so dispatchers
    in several processes never take the same one; a sent message is marked at once, so it is
    never sent again; a failed one waits longer each time, then is given up."""

    def __init__(
        self, uow: UnitOfWorkFactory, mailer: Mailer, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow = uow
        self._mailer = mailer
        self._clock = clock
        self._ids = ids

    async def execute(self, command: DispatchOutboxCommand) -> DispatchReport:
        claim = self._ids.new_id().hex  # names this batch's claim, and only this batch's
        claimed_at = self._clock.now()
        async with self._uow() as uow:
            claimed = await uow.outbox.claim_due(
                claimed_at, claimant=claim, lease=CLAIM_LEASE, limit=BATCH_SIZE
            )
            await uow.commit()
        sent = failed = 0
        for item in claimed:
            if self._clock.now() - claimed_at >= LAST_SEND_START:
                break
            try:
                await self._mailer.send(item.message)
            except MailDeliveryFailed as error:
                failed += 1
                await self._record_failure(
                    claim, item.id, item.attempts + 1, str(error), permanent=error.permanent
                )
            else:
                sent += 1
                async with self._uow() as uow:
                    await uow.outbox.mark_sent(item.id, claim, self._clock.now())
                    await uow.commit()
        return DispatchReport(sent=sent, failed=failed)

    async def _record_failure(
        self, claim: str, message_id: UUID, attempts: int, error: str, *, permanent: bool
    ) -> None:
        now = self._clock.now()
        give_up = permanent or attempts >= MAX_ATTEMPTS
        log.warning(
            "mail_delivery_failed",
            extra={"outbox_id": str(message_id), "attempts": attempts, "giving_up": give_up},
        )
        async with self._uow() as uow:
            await uow.outbox.mark_failed(
                message_id,
                claim,
                error=error[:500],
                next_attempt_at=now + retry_delay(attempts),
                give_up_at=now if give_up else None,
            )
            await uow.commit()

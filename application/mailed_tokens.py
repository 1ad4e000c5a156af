"""Mailing a single-use link: the shared half of password reset and email verification."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from application.mail_links import link_to
from application.outbox import OutboxMessage
from application.ports.mail import MailMessage
from application.ports.persistence import UnitOfWork
from application.ports.system import IdGenerator
from application.secret_tokens import hash_secret_token, new_secret_token
from domain.one_time_token import (
    TOKEN_LIFETIMES,
    TOKEN_WINDOW,
    OneTimeToken,
    TokenPurpose,
    may_send_another,
)
from domain.user import User

# (recipient, link, lifetime) -> the email carrying the link
ComposeMail = Callable[[str, str, timedelta], MailMessage]


async def mail_single_use_link(
    uow: UnitOfWork,
    *,
    ids: IdGenerator,
    user: User,
    purpose: TokenPurpose,
    public_url: str,
    page: str,
    compose: ComposeMail,
    now: datetime,
) -> bool:
    """Within the caller's transaction: unless the account asked too often this hour, replace
    its unused links of this purpose with a new one and queue the mail. False if throttled."""
    recent = await uow.one_time_tokens.count_created_since(user.id, purpose, now - TOKEN_WINDOW)
    if not may_send_another(recent):
        return False
    secret = new_secret_token()
    await uow.one_time_tokens.invalidate_unused(user.id, purpose, now)
    await uow.one_time_tokens.add(
        OneTimeToken.issue(
            id=ids.new_id(),
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_secret_token(secret),
            email=user.email.value,
            now=now,
        )
    )
    link = link_to(public_url, page, secret)
    message = compose(user.email.value, link, TOKEN_LIFETIMES[purpose])
    await uow.outbox.add(OutboxMessage.new(ids.new_id(), message, now))
    return True

"""The webhook events a change reports, recorded in the change's own transaction so that an
endpoint hears of what committed and only of that."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.ports.persistence import UnitOfWork
from application.ports.system import IdGenerator
from domain.session_scope import SessionScope
from domain.user import User
from domain.webhook import WebhookEvent, WebhookEventType


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def user_data(user: User) -> dict[str, Any]:
    """The user as the API represents it (its user response), in JSON terms."""
    return {
        "id": str(user.id),
        "email": user.email.value,
        "name": user.name,
        "role": user.role.value,
        "is_active": user.is_active,
        "is_verified": user.is_verified,
        "mfa_enabled": user.mfa_enabled,
        "created_at": _timestamp(user.created_at),
        "updated_at": _timestamp(user.updated_at),
    }


def changed_since(before: dict[str, Any], user: User) -> bool:
    """Whether the user differs from their earlier `user_data` in what the API shows; an edit
    that set every field to its value moved `updated_at` alone, and that is no update."""
    after = user_data(user)
    return {**before, "updated_at": None} != {**after, "updated_at": None}


def user_event(type: WebhookEventType, user: User, ids: IdGenerator, now: datetime) -> WebhookEvent:
    return WebhookEvent(
        id=WebhookEvent.id_from(ids.new_id()),
        type=type,
        user_id=user.id,
        data=user_data(user),
        created_at=now,
    )


def session_revoked_event(
    user_id: UUID, session_id: UUID, ids: IdGenerator, now: datetime
) -> WebhookEvent:
    return WebhookEvent(
        id=WebhookEvent.id_from(ids.new_id()),
        type=WebhookEventType.SESSION_REVOKED,
        user_id=user_id,
        data={"user_id": str(user_id), "session_id": str(session_id)},
        created_at=now,
    )


async def record_user_event(
    uow: UnitOfWork, type: WebhookEventType, user: User, ids: IdGenerator, now: datetime
) -> None:
    await uow.webhook_events.record(user_event(type, user, ids, now))


async def revoke_and_report(
    uow: UnitOfWork, scope: SessionScope, ids: IdGenerator, now: datetime
) -> int:
    """Revoke the scope's sessions, one `session.revoked` for each that could still be used
    (an expired one ended already); returns how many the revocation touched."""
    doomed = [
        session.id
        for session in await uow.sessions.list_usable_of_user(scope.user_id, now)
        if scope.includes(session)
    ]
    revoked = await uow.sessions.revoke(scope, now)
    await _report(uow, scope.user_id, doomed, ids, now)
    return revoked


async def revoke_of_client_and_report(
    uow: UnitOfWork, user_id: UUID, client_id: str, ids: IdGenerator, now: datetime
) -> int:
    """As revoke_and_report, for the sessions the account holds through one OAuth client."""
    doomed = [
        session.id
        for session in await uow.sessions.list_usable_of_user(user_id, now)
        if session.client_id == client_id
    ]
    revoked = await uow.sessions.revoke_of_client(user_id, client_id, now)
    await _report(uow, user_id, doomed, ids, now)
    return revoked


async def _report(
    uow: UnitOfWork, user_id: UUID, session_ids: list[UUID], ids: IdGenerator, now: datetime
) -> None:
    if not session_ids:
        return
    # The event log numbers an account's events in the order their transactions take the
    # account's row; a change that wrote the row holds it already, and taking it again is free.
    await uow.users.get_for_update(user_id)
    for session_id in session_ids:
        await uow.webhook_events.record(session_revoked_event(user_id, session_id, ids, now))

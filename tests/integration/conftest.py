"""Shared helpers for the adapter tests. The databases themselves come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from adapters.persistence.database import Database
from adapters.persistence.unit_of_work import SqlAlchemyUnitOfWork
from application.outbox import OutboxMessage
from application.ports.persistence import AuthenticatedUserReader
from domain.audit_event import AuditEvent
from domain.one_time_token import OneTimeToken
from domain.session import Session
from domain.signing_key import SigningKey
from domain.user import User

UowFactory = Callable[[], SqlAlchemyUnitOfWork]
Persist = Callable[..., Awaitable[None]]


@pytest.fixture
def persist(uow_factory: UowFactory) -> Persist:
    """Store users, sessions, signing keys, one-time tokens, outbox messages and audit events in
    one committed unit of work, in the given order."""

    async def persist(
        *entities: User | Session | SigningKey | OneTimeToken | OutboxMessage | AuditEvent,
    ) -> None:
        async with uow_factory() as uow:
            for entity in entities:
                if isinstance(entity, User):
                    await uow.users.add(entity)
                elif isinstance(entity, Session):
                    await uow.sessions.add(entity)
                elif isinstance(entity, OneTimeToken):
                    await uow.one_time_tokens.add(entity)
                elif isinstance(entity, OutboxMessage):
                    await uow.outbox.add(entity)
                elif isinstance(entity, AuditEvent):
                    await uow.audit.record(entity)
                else:
                    await uow.signing_keys.add(entity)
            await uow.commit()

    return persist


@pytest.fixture
def authenticated_users(database: Database) -> AuthenticatedUserReader:
    """The reader the service would use on this database: its own thread on SQLite, asyncpg
    on a connection of the engine's pool on PostgreSQL."""
    return database.authenticated_users

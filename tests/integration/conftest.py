"""Shared helpers for the adapter tests. The databases themselves come from tests/conftest.py.

The contract tests run on three backends: SQLite, PostgreSQL, and the in-memory fakes the unit
tests use, so that the fakes keep the adapters' rules. A test that reaches beneath the ports
(the SQL sent, rows no port returns, the engine, its pool, a driver's error) is `sql_only`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.database import Database
from application.outbox import OutboxMessage
from application.ports.persistence import AuthenticatedUserReader, IntrospectionReader, UnitOfWork
from domain.audit_event import AuditEvent
from domain.authorization_code import AuthorizationCode
from domain.grant import Grant
from domain.invitation import Invitation
from domain.linked_identity import LinkedIdentity
from domain.oauth_client import OAuthClient
from domain.one_time_token import OneTimeToken
from domain.session import Session
from domain.signing_key import SigningKey
from domain.upstream_sign_in import UpstreamSignIn
from domain.user import User
from domain.webhook import Webhook
from tests.databases import SQL_BACKENDS
from tests.fakes import (
    FakeUnitOfWorkFactory,
    InMemoryAuthenticatedUserReader,
    InMemoryIntrospectionReader,
)
from tests.signing_keys import REUSED_KEY_MATERIAL, ReusedKeyMaterial

UowFactory = Callable[[], UnitOfWork]
Persist = Callable[..., Awaitable[None]]

MEMORY = "memory"

# Runs the test on SQLite and PostgreSQL only: it overrides the `backend` fixture's parameters.
sql_only = pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)


@pytest.fixture(params=[*SQL_BACKENDS, MEMORY])
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite, PostgreSQL, then the in-memory fakes."""
    param: str = request.param
    return param


@pytest.fixture
def memory(backend: str) -> FakeUnitOfWorkFactory | None:
    """The fakes' database on the memory backend; None on the others."""
    return FakeUnitOfWorkFactory() if backend == MEMORY else None


@pytest.fixture
def uow_factory(memory: FakeUnitOfWorkFactory | None, request: pytest.FixtureRequest) -> UowFactory:
    if memory is not None:
        return memory
    database: Database = request.getfixturevalue("database")
    return database.unit_of_work


@pytest.fixture
def engine(database: Database) -> AsyncEngine:
    return database.engine


@pytest.fixture
def persist(uow_factory: UowFactory) -> Persist:
    """Store users, sessions, signing keys, one-time tokens, invitations, outbox messages,
    audit events, OAuth clients, authorization codes, grants, linked identities, upstream
    sign-ins and webhooks in one committed unit of work, in the given order."""

    async def persist(
        *entities: User
        | Session
        | SigningKey
        | OneTimeToken
        | Invitation
        | OutboxMessage
        | AuditEvent
        | OAuthClient
        | AuthorizationCode
        | Grant
        | LinkedIdentity
        | UpstreamSignIn
        | Webhook,
    ) -> None:
        async with uow_factory() as uow:
            for entity in entities:
                if isinstance(entity, User):
                    await uow.users.add(entity)
                elif isinstance(entity, OAuthClient):
                    await uow.oauth_clients.add(entity)
                elif isinstance(entity, AuthorizationCode):
                    await uow.oauth_codes.add(entity)
                elif isinstance(entity, Grant):
                    await uow.oauth_grants.upsert(entity)
                elif isinstance(entity, LinkedIdentity):
                    await uow.linked_identities.add(entity)
                elif isinstance(entity, UpstreamSignIn):
                    await uow.upstream_sign_ins.add(entity)
                elif isinstance(entity, Webhook):
                    await uow.webhooks.add(entity)
                elif isinstance(entity, Session):
                    await uow.sessions.add(entity)
                elif isinstance(entity, OneTimeToken):
                    await uow.one_time_tokens.add(entity)
                elif isinstance(entity, Invitation):
                    await uow.invitations.add(entity)
                elif isinstance(entity, OutboxMessage):
                    await uow.outbox.add(entity)
                elif isinstance(entity, AuditEvent):
                    await uow.audit.record(entity)
                else:
                    await uow.signing_keys.add(entity)
            await uow.commit()

    return persist


@pytest.fixture
def authenticated_users(
    memory: FakeUnitOfWorkFactory | None, request: pytest.FixtureRequest
) -> AuthenticatedUserReader:
    """The reader the service would use on this database: its own thread on SQLite, asyncpg
    on a connection of the engine's pool on PostgreSQL; the fake's over what is committed."""
    if memory is not None:
        return InMemoryAuthenticatedUserReader(memory.store)
    database: Database = request.getfixturevalue("database")
    return database.authenticated_users


@pytest.fixture
def introspection(
    memory: FakeUnitOfWorkFactory | None, request: pytest.FixtureRequest
) -> IntrospectionReader:
    """Introspection's read as the service makes it on this database (see authenticated_users)."""
    if memory is not None:
        return InMemoryIntrospectionReader(memory.store)
    database: Database = request.getfixturevalue("database")
    return database.introspection


@pytest.fixture(scope="session")
def key_factory() -> ReusedKeyMaterial:
    return REUSED_KEY_MATERIAL

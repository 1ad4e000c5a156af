"""The OAuth client registry's use cases: an admin (or the operator at the command line)
registers, reads, changes, renews and deletes clients; nobody else may."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import pytest

from application.caller import Operator, Principal
from application.client_credentials import client_secret_matches
from application.errors import Forbidden, NotFound
from application.use_cases.oauth_clients.delete_client import DeleteClient, DeleteClientCommand
from application.use_cases.oauth_clients.get_client import GetClient, GetClientQuery
from application.use_cases.oauth_clients.list_clients import ListClients, ListClientsQuery
from application.use_cases.oauth_clients.register_client import (
    RegisterClient,
    RegisterClientCommand,
    RegisteredClient,
)
from application.use_cases.oauth_clients.renew_client_secret import (
    RenewClientSecret,
    RenewClientSecretCommand,
)
from application.use_cases.oauth_clients.update_client import (
    UpdateClient,
    UpdateClientCommand,
)
from domain.audit_event import AuditEventType
from domain.oauth_client import ClientHasNoSecret, ClientType, IdTokenAlgorithm, InvalidOAuthClient
from domain.role import Role
from domain.session import SessionKind
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import Accounts, recorded_events

CALLBACK = "https://wiki.example.com/callback"


@pytest.fixture
async def admin(accounts: Accounts) -> Principal:
    return accounts.signed_in(await accounts.user("root@example.com", role=Role.ADMIN))


async def a_client(
    register: RegisterClient,
    by: Principal | Operator,
    type: ClientType = ClientType.CONFIDENTIAL,
) -> RegisteredClient:
    return await register.execute(
        RegisterClientCommand(by=by, name="Wiki", type=type, redirect_uris=(CALLBACK,))
    )


async def test_registering_a_confidential_client_shows_its_secret_once_and_stores_its_hash(
    register: RegisterClient, admin: Principal, store: InMemoryStore, clock: FixedClock
) -> None:
    registered = await register.execute(
        RegisterClientCommand(
            by=admin,
            name="Wiki",
            type=ClientType.CONFIDENTIAL,
            redirect_uris=(CALLBACK, "http://localhost:8080/cb"),
            post_logout_redirect_uris=("https://wiki.example.com/",),
            first_party=True,
            id_token_signed_response_alg=IdTokenAlgorithm.ES256,
        )
    )

    client, secret = registered.client, registered.client_secret
    assert secret is not None
    assert len(secret) >= 43
    assert store.oauth_clients[client.client_id] == client
    assert client.secret_hash is not None
    assert secret not in client.secret_hash
    assert client_secret_matches(secret, client.secret_hash)
    assert not client_secret_matches(secret + "x", client.secret_hash)
    assert (client.redirect_uris, client.post_logout_redirect_uris) == (
        (CALLBACK, "http://localhost:8080/cb"),
        ("https://wiki.example.com/",),
    )
    assert (client.first_party, client.id_token_signed_response_alg) == (True, "ES256")
    assert client.created_at == client.updated_at == clock.now()


async def test_a_public_client_gets_no_secret_and_ids_are_random_uuids(
    register: RegisterClient, admin: Principal
) -> None:
    first = await a_client(register, admin, ClientType.PUBLIC)
    second = await a_client(register, admin, ClientType.PUBLIC)

    assert first.client_secret is None
    assert first.client.secret_hash is None
    assert not client_secret_matches("", first.client.secret_hash)
    assert first.client.client_id != second.client.client_id
    assert UUID(first.client.client_id).version == 4
    assert str(UUID(first.client.client_id)) == first.client.client_id
    assert first.client.id_token_signed_response_alg is IdTokenAlgorithm.RS256


async def test_registering_records_who_registered_which_client_and_never_the_secret(
    register: RegisterClient, admin: Principal, store: InMemoryStore
) -> None:
    registered = await a_client(register, admin)

    (event,) = recorded_events(store)
    assert event.type is AuditEventType.OAUTH_CLIENT_REGISTERED
    assert (event.actor_id, event.user_id) == (admin.user.id, None)
    assert event.data == {"client_id": registered.client.client_id}
    assert registered.client_secret is not None
    assert registered.client_secret not in repr(store.audit_events)


async def test_the_operator_registers_without_an_account_and_the_trail_says_so(
    register: RegisterClient, store: InMemoryStore
) -> None:
    registered = await a_client(register, Operator())

    (event,) = recorded_events(store)
    assert event.actor_id is None
    assert event.data == {"client_id": registered.client.client_id, "via": "cli"}


async def test_an_invalid_registration_stores_nothing(
    register: RegisterClient, admin: Principal, uow: FakeUnitOfWorkFactory
) -> None:
    with pytest.raises(InvalidOAuthClient, match="https"):
        await register.execute(
            RegisterClientCommand(
                by=admin,
                name="Wiki",
                type=ClientType.PUBLIC,
                redirect_uris=("http://wiki.example.com/cb",),
            )
        )

    assert uow.commits == 0


async def test_nobody_but_an_active_admin_manages_clients(
    register: RegisterClient,
    update: UpdateClient,
    renew: RenewClientSecret,
    delete: DeleteClient,
    uow: FakeUnitOfWorkFactory,
    accounts: Accounts,
    admin: Principal,
) -> None:
    client_id = (await a_client(register, admin)).client.client_id
    user = accounts.signed_in(await accounts.user("eve@example.com"))
    former = accounts.signed_in(
        await accounts.user("gone@example.com", role=Role.ADMIN, is_active=False)
    )
    commits = uow.commits

    for who in (user, former):
        with pytest.raises(Forbidden):
            await a_client(register, who)
        with pytest.raises(Forbidden):
            await ListClients(uow).execute(ListClientsQuery(by=who))
        with pytest.raises(Forbidden):
            await GetClient(uow).execute(GetClientQuery(by=who, client_id=client_id))
        with pytest.raises(Forbidden):
            await update.execute(UpdateClientCommand(by=who, client_id=client_id, name="Mine"))
        with pytest.raises(Forbidden):
            await renew.execute(RenewClientSecretCommand(by=who, client_id=client_id))
        with pytest.raises(Forbidden):
            await delete.execute(DeleteClientCommand(by=who, client_id=client_id))
    assert uow.commits == commits


async def test_the_list_is_every_client_oldest_first_and_get_finds_one(
    register: RegisterClient, admin: Principal, uow: FakeUnitOfWorkFactory, clock: FixedClock
) -> None:
    first = (await a_client(register, admin)).client
    clock.advance(seconds=1)
    second = (await a_client(register, admin, ClientType.PUBLIC)).client

    assert await ListClients(uow).execute(ListClientsQuery(by=admin)) == [first, second]
    found = await GetClient(uow).execute(GetClientQuery(by=admin, client_id=second.client_id))
    assert found == second
    with pytest.raises(NotFound):
        await GetClient(uow).execute(GetClientQuery(by=admin, client_id="nobody"))


async def test_a_change_touches_the_fields_sent_and_records_which(
    register: RegisterClient,
    update: UpdateClient,
    admin: Principal,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    client = (await a_client(register, admin)).client
    clock.advance(minutes=5)

    changed = await update.execute(
        UpdateClientCommand(
            by=admin,
            client_id=client.client_id,
            redirect_uris=("https://wiki.example.com/new",),
            first_party=True,
            name="Wiki",  # as it was
        )
    )

    assert store.oauth_clients[client.client_id] == changed
    assert changed.name == "Wiki"
    assert changed.redirect_uris == ("https://wiki.example.com/new",)
    assert changed.first_party is True
    assert changed.post_logout_redirect_uris == client.post_logout_redirect_uris
    assert changed.secret_hash == client.secret_hash
    assert changed.updated_at == clock.now() != client.created_at
    event = recorded_events(store)[-1]
    assert event.type is AuditEventType.OAUTH_CLIENT_CHANGED
    assert event.data == {"client_id": client.client_id, "fields": ["redirect_uris", "first_party"]}


async def test_a_change_to_what_is_already_there_writes_and_records_nothing(
    register: RegisterClient,
    update: UpdateClient,
    admin: Principal,
    uow: FakeUnitOfWorkFactory,
    clock: FixedClock,
) -> None:
    client = (await a_client(register, admin)).client
    commits = uow.commits
    clock.advance(minutes=5)

    same = await update.execute(
        UpdateClientCommand(by=admin, client_id=client.client_id, redirect_uris=(CALLBACK,))
    )

    assert same == client
    assert uow.commits == commits


async def test_an_invalid_change_or_an_unknown_client_changes_nothing(
    register: RegisterClient, update: UpdateClient, admin: Principal, store: InMemoryStore
) -> None:
    client = (await a_client(register, admin)).client

    with pytest.raises(InvalidOAuthClient, match="redirect_uris"):
        await update.execute(
            UpdateClientCommand(by=admin, client_id=client.client_id, redirect_uris=())
        )
    with pytest.raises(NotFound):
        await update.execute(UpdateClientCommand(by=admin, client_id="nobody", name="X"))
    assert store.oauth_clients[client.client_id] == client


async def test_renewing_a_secret_returns_a_new_one_and_the_old_one_stops_matching(
    register: RegisterClient, renew: RenewClientSecret, admin: Principal, store: InMemoryStore
) -> None:
    registered = await a_client(register, admin)
    old = registered.client_secret
    assert old is not None

    new = await renew.execute(
        RenewClientSecretCommand(by=admin, client_id=registered.client.client_id)
    )

    stored = store.oauth_clients[registered.client.client_id]
    assert new != old
    assert client_secret_matches(new, stored.secret_hash)
    assert not client_secret_matches(old, stored.secret_hash)
    event = recorded_events(store)[-1]
    assert event.type is AuditEventType.OAUTH_CLIENT_SECRET_RENEWED
    assert event.data == {"client_id": registered.client.client_id}
    assert new not in repr(store.audit_events)


async def test_a_public_client_has_no_secret_to_renew(
    register: RegisterClient,
    renew: RenewClientSecret,
    admin: Principal,
    uow: FakeUnitOfWorkFactory,
) -> None:
    client = (await a_client(register, admin, ClientType.PUBLIC)).client
    commits = uow.commits

    with pytest.raises(ClientHasNoSecret):
        await renew.execute(RenewClientSecretCommand(by=admin, client_id=client.client_id))
    with pytest.raises(NotFound):
        await renew.execute(RenewClientSecretCommand(by=admin, client_id="nobody"))
    assert uow.commits == commits


async def test_deleting_a_client_ends_the_sessions_issued_to_it(
    register: RegisterClient,
    delete: DeleteClient,
    admin: Principal,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    client = (await a_client(register, admin)).client
    ada = await accounts.user("ada@example.com")
    issued = replace(accounts.session(ada), kind=SessionKind.OAUTH, client_id=client.client_id)
    store.sessions[issued.id] = issued
    own = accounts.session(ada)

    await delete.execute(DeleteClientCommand(by=Operator(), client_id=client.client_id))

    assert client.client_id not in store.oauth_clients
    assert set(store.sessions) == {own.id}
    event = recorded_events(store)[-1]
    assert event.type is AuditEventType.OAUTH_CLIENT_DELETED
    assert (event.actor_id, event.data) == (None, {"client_id": client.client_id, "via": "cli"})
    with pytest.raises(NotFound):
        await delete.execute(DeleteClientCommand(by=admin, client_id=client.client_id))

"""An account's grants to applications, as their owner lists and withdraws them: withdrawing
takes back the consent and ends every session the application holds for the account, at once."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from application.caller import Caller, Principal
from application.errors import NotFound, StorageUnavailable
from application.use_cases.oidc.list_grants import GrantView, ListGrants, ListGrantsQuery
from application.use_cases.oidc.withdraw_grant import WithdrawGrant, WithdrawGrantCommand
from domain.audit_event import AuditEventType
from domain.oauth_client import OAuthClient
from domain.oauth_scope import Scope
from domain.session import Session
from domain.user import User
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.integration.builders import a_grant, an_oauth_client, an_oauth_session
from tests.unit.builders import Accounts, recorded_events, stored_session

DEVICE = Caller(ip="198.51.100.7", user_agent="Firefox/140")


def registered(store: InMemoryStore, name: str) -> OAuthClient:
    client = an_oauth_client(name=name)
    store.oauth_clients[client.client_id] = copy.deepcopy(client)
    return client


def granted(store: InMemoryStore, user: User, client: OAuthClient, **overrides: object) -> None:
    grant = a_grant(user, client, **overrides)
    store.oauth_grants[(user.id, client.client_id)] = grant


def issued(store: InMemoryStore, user: User, client: OAuthClient, clock: FixedClock) -> Session:
    session = an_oauth_session(user, client, expires_at=clock.now() + timedelta(days=30))
    store.sessions[session.id] = copy.deepcopy(session)
    return session


@pytest.fixture
async def eve(accounts: Accounts) -> User:
    return await accounts.user("eve@example.com")


@pytest.fixture
def signed_in(accounts: Accounts, eve: User) -> Principal:
    return accounts.signed_in(eve, accounts.session(eve))


async def test_the_grants_are_listed_with_the_clients_name_scopes_in_order_and_dates(
    list_grants: ListGrants,
    store: InMemoryStore,
    clock: FixedClock,
    eve: User,
    signed_in: Principal,
) -> None:
    wiki, chat = registered(store, "Wiki"), registered(store, "Chat")
    day = timedelta(days=1)
    granted(
        store,
        eve,
        chat,
        scopes=frozenset({Scope.OFFLINE_ACCESS, Scope.EMAIL, Scope.OPENID}),
        created_at=clock.now() - 2 * day,
        updated_at=clock.now(),
    )
    granted(store, eve, wiki, created_at=clock.now() - 3 * day, updated_at=clock.now() - 3 * day)

    views = await list_grants.execute(ListGrantsQuery(signed_in))

    assert views == [
        GrantView(
            wiki.client_id,
            "Wiki",
            (Scope.OPENID, Scope.EMAIL),
            clock.now() - 3 * day,
            clock.now() - 3 * day,
        ),
        GrantView(
            chat.client_id,
            "Chat",
            (Scope.OPENID, Scope.EMAIL, Scope.OFFLINE_ACCESS),
            clock.now() - 2 * day,
            clock.now(),
        ),
    ]


async def test_another_accounts_grants_are_not_listed(
    list_grants: ListGrants, accounts: Accounts, store: InMemoryStore, signed_in: Principal
) -> None:
    bob = await accounts.user("bob@example.com")
    granted(store, bob, registered(store, "Wiki"))

    assert await list_grants.execute(ListGrantsQuery(signed_in)) == []


async def test_withdrawing_removes_the_grant_and_ends_that_clients_sessions_only(
    withdraw_grant: WithdrawGrant,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    eve: User,
    signed_in: Principal,
) -> None:
    wiki, chat = registered(store, "Wiki"), registered(store, "Chat")
    granted(store, eve, wiki)
    granted(store, eve, chat)
    wiki_sessions = [issued(store, eve, wiki, clock), issued(store, eve, wiki, clock)]
    chat_session = issued(store, eve, chat, clock)
    bob = await accounts.user("bob@example.com")
    granted(store, bob, wiki)
    bobs_wiki_session = issued(store, bob, wiki, clock)

    await withdraw_grant.execute(WithdrawGrantCommand(signed_in, wiki.client_id, DEVICE))

    assert set(store.oauth_grants) == {(eve.id, chat.client_id), (bob.id, wiki.client_id)}
    for session in wiki_sessions:
        assert stored_session(store, session.id).revoked_at == clock.now()
    for untouched in (chat_session, bobs_wiki_session, stored_session(store, signed_in.session_id)):
        assert stored_session(store, untouched.id).revoked_at is None


async def test_withdrawing_records_consent_withdrawn_by_the_account_from_its_device(
    withdraw_grant: WithdrawGrant,
    store: InMemoryStore,
    clock: FixedClock,
    eve: User,
    signed_in: Principal,
) -> None:
    wiki = registered(store, "Wiki")
    granted(store, eve, wiki)
    issued(store, eve, wiki, clock)

    await withdraw_grant.execute(WithdrawGrantCommand(signed_in, wiki.client_id, DEVICE))

    [event] = recorded_events(store)
    assert event.type is AuditEventType.CONSENT_WITHDRAWN
    assert (event.user_id, event.actor_id) == (eve.id, eve.id)
    assert (event.ip, event.user_agent) == (DEVICE.ip, DEVICE.user_agent)
    assert event.data == {"client_id": wiki.client_id, "sessions_revoked": 1}


@pytest.mark.parametrize("whose", ["another account's", "unknown", "malformed"])
async def test_a_grant_the_account_does_not_hold_is_not_found_and_changes_nothing(
    withdraw_grant: WithdrawGrant,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    signed_in: Principal,
    eve: User,
    whose: str,
) -> None:
    wiki = registered(store, "Wiki")
    bob = await accounts.user("bob@example.com")
    granted(store, bob, wiki)
    issued(store, bob, wiki, clock)
    issued(store, eve, wiki, clock)  # a session without a grant still is no grant to withdraw
    client_id = {
        "another account's": wiki.client_id,
        "unknown": an_oauth_client().client_id,
        "malformed": "wiki\x00' OR 1=1 --",
    }[whose]
    before = copy.deepcopy(store)

    with pytest.raises(NotFound):
        await withdraw_grant.execute(WithdrawGrantCommand(signed_in, client_id, DEVICE))

    assert store == before


async def test_withdrawing_twice_the_second_time_finds_nothing(
    withdraw_grant: WithdrawGrant, store: InMemoryStore, eve: User, signed_in: Principal
) -> None:
    wiki = registered(store, "Wiki")
    granted(store, eve, wiki)
    await withdraw_grant.execute(WithdrawGrantCommand(signed_in, wiki.client_id, DEVICE))

    with pytest.raises(NotFound):
        await withdraw_grant.execute(WithdrawGrantCommand(signed_in, wiki.client_id, DEVICE))
    assert len(recorded_events(store)) == 1


async def test_when_the_event_cannot_be_recorded_neither_grant_nor_sessions_change(
    withdraw_grant: WithdrawGrant,
    uow: FakeUnitOfWorkFactory,
    store: InMemoryStore,
    clock: FixedClock,
    eve: User,
    signed_in: Principal,
) -> None:
    wiki = registered(store, "Wiki")
    granted(store, eve, wiki)
    issued(store, eve, wiki, clock)
    before = copy.deepcopy(store)
    uow.audit_unavailable = True

    with pytest.raises(StorageUnavailable):
        await withdraw_grant.execute(WithdrawGrantCommand(signed_in, wiki.client_id, DEVICE))

    assert store == before

from __future__ import annotations

from uuid import UUID

import pytest

from application.errors import InvalidAccessToken, NotFound
from application.use_cases.authenticate import Authenticate, AuthenticateCommand
from application.use_cases.revoke_sessions import RevokeOwnSession, RevokeSessions
from domain.session_scope import SessionScope
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import Accounts, is_revoked, stored_session


async def test_revoking_one_session_revokes_it_alone_and_commits(
    revoke_sessions: RevokeSessions,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user()
    current, other = accounts.session(eve), accounts.session(eve)
    clock.advance(minutes=3)

    revoked = await revoke_sessions.execute(SessionScope.one(eve.id, current.id))

    assert revoked == 1
    assert stored_session(store, current.id).revoked_at == clock.now()
    assert not is_revoked(store, other)
    assert uow.commits == 1


async def test_revoking_the_others_keeps_the_current_session_and_counts_the_rest(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    current, laptop, phone = accounts.session(eve), accounts.session(eve), accounts.session(eve)
    clock.advance(minutes=3)

    revoked = await revoke_sessions.execute(SessionScope.others(eve.id, current.id))

    assert revoked == 2
    assert stored_session(store, laptop.id).revoked_at == clock.now()
    assert stored_session(store, phone.id).revoked_at == clock.now()
    assert not is_revoked(store, current)


async def test_revoking_everything_revokes_the_current_session_too(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    sessions = [accounts.session(eve) for _ in range(3)]

    revoked = await revoke_sessions.execute(SessionScope.everything(eve.id))

    assert revoked == 3
    assert all(is_revoked(store, session) for session in sessions)


async def test_no_scope_reaches_another_users_sessions(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    eves = accounts.session(eve)
    bobs = accounts.session(bob)

    assert await revoke_sessions.execute(SessionScope.one(eve.id, bobs.id)) == 0
    assert await revoke_sessions.execute(SessionScope.others(eve.id, eves.id)) == 0
    assert await revoke_sessions.execute(SessionScope.everything(eve.id)) == 1

    assert not is_revoked(store, bobs)


async def test_already_revoked_sessions_are_not_counted_and_keep_their_revocation_time(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    logged_out = accounts.revoked_session(eve)
    live = accounts.session(eve)
    clock.advance(hours=1)

    revoked = await revoke_sessions.execute(SessionScope.everything(eve.id))

    assert revoked == 1
    assert stored_session(store, logged_out.id).revoked_at == logged_out.revoked_at
    assert stored_session(store, live.id).revoked_at == clock.now()


async def test_revoking_nothing_returns_zero(
    revoke_sessions: RevokeSessions, accounts: Accounts
) -> None:
    eve = await accounts.user()

    assert await revoke_sessions.execute(SessionScope.everything(eve.id)) == 0


async def test_the_access_tokens_of_a_revoked_session_fail_at_once(
    revoke_sessions: RevokeSessions, authenticate: Authenticate, accounts: Accounts
) -> None:
    eve = await accounts.user()
    current, other = accounts.session(eve), accounts.session(eve)
    current_token = await accounts.access_token(eve, current)
    other_token = await accounts.access_token(eve, other)

    await revoke_sessions.execute(SessionScope.one(eve.id, current.id))

    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(current_token))
    assert (await authenticate.execute(AuthenticateCommand(other_token))).session_id == other.id


async def test_deleting_one_of_ones_own_sessions_revokes_it(
    revoke_own_session: RevokeOwnSession,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user()
    current, laptop = accounts.session(eve), accounts.session(eve)

    await revoke_own_session.execute(SessionScope.one(eve.id, laptop.id))

    assert stored_session(store, laptop.id).revoked_at == clock.now()
    assert not is_revoked(store, current)
    assert uow.commits == 1


async def test_deleting_someone_elses_session_is_not_found_and_leaves_it(
    revoke_own_session: RevokeOwnSession, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    accounts.session(eve)
    bobs = accounts.session(bob)

    with pytest.raises(NotFound):
        await revoke_own_session.execute(SessionScope.one(eve.id, bobs.id))

    assert not is_revoked(store, bobs)


async def test_deleting_an_unknown_session_is_not_found(
    revoke_own_session: RevokeOwnSession, accounts: Accounts
) -> None:
    eve = await accounts.user()
    accounts.session(eve)

    with pytest.raises(NotFound):
        await revoke_own_session.execute(SessionScope.one(eve.id, UUID(int=999)))


async def test_deleting_an_already_revoked_session_is_not_found_and_keeps_its_time(
    revoke_own_session: RevokeOwnSession,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user()
    logged_out = accounts.revoked_session(eve)
    clock.advance(hours=1)

    with pytest.raises(NotFound):
        await revoke_own_session.execute(SessionScope.one(eve.id, logged_out.id))

    assert stored_session(store, logged_out.id).revoked_at == logged_out.revoked_at


async def test_someone_elses_unknown_and_revoked_sessions_all_look_the_same(
    revoke_own_session: RevokeOwnSession, accounts: Accounts
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    attempts = [
        SessionScope.one(eve.id, accounts.session(bob).id),
        SessionScope.one(eve.id, UUID(int=999)),
        SessionScope.one(eve.id, accounts.revoked_session(eve).id),
    ]
    messages = set()
    for scope in attempts:
        with pytest.raises(NotFound) as refused:
            await revoke_own_session.execute(scope)
        messages.add(str(refused.value))

    assert len(messages) == 1


@pytest.mark.parametrize("scope_name", ["others", "everything"])
async def test_deleting_own_session_refuses_any_scope_but_one_and_revokes_nothing(
    revoke_own_session: RevokeOwnSession,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
    scope_name: str,
) -> None:
    eve = await accounts.user()
    current, other = accounts.session(eve), accounts.session(eve)
    scope = (
        SessionScope.others(eve.id, current.id)
        if scope_name == "others"
        else SessionScope.everything(eve.id)
    )

    with pytest.raises(ValueError, match="one session"):
        await revoke_own_session.execute(scope)

    assert not is_revoked(store, current)
    assert not is_revoked(store, other)
    assert uow.commits == 0

from __future__ import annotations

from uuid import UUID

import pytest

from application.errors import InvalidAccessToken, NotFound
from application.use_cases.authenticate import Authenticate, AuthenticateCommand
from application.use_cases.revoke_sessions import (
    RevokeOwnSession,
    RevokeOwnSessionCommand,
    RevokeSessions,
    RevokeSessionsCommand,
)
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import Accounts, is_revoked, stored_session


async def test_logging_out_revokes_the_current_session_alone_and_commits(
    revoke_sessions: RevokeSessions,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user()
    current, other = accounts.session(eve), accounts.session(eve)
    clock.advance(minutes=3)

    revoked = await revoke_sessions.execute(RevokeSessionsCommand(accounts.signed_in(eve, current)))

    assert revoked == 1
    assert stored_session(store, current.id).revoked_at == clock.now()
    assert not is_revoked(store, other)
    assert uow.commits == 1


async def test_logging_out_everywhere_revokes_the_current_session_too(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    current, laptop, phone = accounts.session(eve), accounts.session(eve), accounts.session(eve)
    clock.advance(minutes=3)

    revoked = await revoke_sessions.execute(
        RevokeSessionsCommand(accounts.signed_in(eve, current), everywhere=True)
    )

    assert revoked == 3
    for session in (current, laptop, phone):
        assert stored_session(store, session.id).revoked_at == clock.now()


async def test_logging_out_everywhere_leaves_other_peoples_sessions_alone(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    eves = accounts.session(eve)
    bobs = accounts.session(bob)

    revoked = await revoke_sessions.execute(
        RevokeSessionsCommand(accounts.signed_in(eve, eves), everywhere=True)
    )

    assert revoked == 1
    assert not is_revoked(store, bobs)


async def test_already_revoked_sessions_are_not_counted_and_keep_their_revocation_time(
    revoke_sessions: RevokeSessions, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    logged_out = accounts.revoked_session(eve)
    current = accounts.session(eve)
    clock.advance(hours=1)

    revoked = await revoke_sessions.execute(
        RevokeSessionsCommand(accounts.signed_in(eve, current), everywhere=True)
    )

    assert revoked == 1
    assert stored_session(store, logged_out.id).revoked_at == logged_out.revoked_at
    assert stored_session(store, current.id).revoked_at == clock.now()


async def test_logging_out_of_a_session_already_ended_revokes_nothing(
    revoke_sessions: RevokeSessions, accounts: Accounts
) -> None:
    eve = await accounts.user()
    ended = accounts.revoked_session(eve)

    assert await revoke_sessions.execute(RevokeSessionsCommand(accounts.signed_in(eve, ended))) == 0


async def test_the_access_tokens_of_a_logged_out_session_fail_at_once(
    revoke_sessions: RevokeSessions, authenticate: Authenticate, accounts: Accounts
) -> None:
    eve = await accounts.user()
    current, other = accounts.session(eve), accounts.session(eve)
    current_token = await accounts.access_token(eve, current)
    other_token = await accounts.access_token(eve, other)

    await revoke_sessions.execute(RevokeSessionsCommand(accounts.signed_in(eve, current)))

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

    await revoke_own_session.execute(
        RevokeOwnSessionCommand(accounts.signed_in(eve, current), session_id=laptop.id)
    )

    assert stored_session(store, laptop.id).revoked_at == clock.now()
    assert not is_revoked(store, current)
    assert uow.commits == 1


async def test_deleting_someone_elses_session_is_not_found_and_leaves_it(
    revoke_own_session: RevokeOwnSession, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    bobs = accounts.session(bob)

    with pytest.raises(NotFound):
        await revoke_own_session.execute(
            RevokeOwnSessionCommand(accounts.signed_in(eve), session_id=bobs.id)
        )

    assert not is_revoked(store, bobs)


async def test_deleting_an_unknown_session_is_not_found(
    revoke_own_session: RevokeOwnSession, accounts: Accounts
) -> None:
    eve = await accounts.user()

    with pytest.raises(NotFound):
        await revoke_own_session.execute(
            RevokeOwnSessionCommand(accounts.signed_in(eve), session_id=UUID(int=999))
        )


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
        await revoke_own_session.execute(
            RevokeOwnSessionCommand(accounts.signed_in(eve), session_id=logged_out.id)
        )

    assert stored_session(store, logged_out.id).revoked_at == logged_out.revoked_at


async def test_someone_elses_unknown_and_revoked_sessions_all_look_the_same(
    revoke_own_session: RevokeOwnSession, accounts: Accounts
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    signed_in = accounts.signed_in(eve)
    attempts = [
        accounts.session(bob).id,
        UUID(int=999),
        accounts.revoked_session(eve).id,
    ]
    messages = set()
    for session_id in attempts:
        with pytest.raises(NotFound) as refused:
            await revoke_own_session.execute(
                RevokeOwnSessionCommand(signed_in, session_id=session_id)
            )
        messages.add(str(refused.value))

    assert len(messages) == 1

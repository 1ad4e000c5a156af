from __future__ import annotations

from datetime import timedelta

from application.use_cases.list_sessions import ListSessions, ListSessionsQuery, SessionView
from application.use_cases.refresh_tokens import RefreshTokens, RefreshTokensCommand
from tests.fakes import FakeUnitOfWorkFactory, FixedClock
from tests.unit.builders import Accounts


async def test_the_list_holds_every_usable_session_of_the_user_newest_first(
    list_sessions: ListSessions, accounts: Accounts, clock: FixedClock
) -> None:
    eve = await accounts.user()
    oldest = accounts.session(eve)
    clock.advance(hours=1)
    middle = accounts.session(eve)
    clock.advance(hours=1)
    newest = accounts.session(eve)

    listed = await list_sessions.execute(ListSessionsQuery(accounts.signed_in(eve, middle)))

    assert [view.id for view in listed] == [newest.id, middle.id, oldest.id]


async def test_only_the_callers_own_session_is_marked_current(
    list_sessions: ListSessions, accounts: Accounts, clock: FixedClock
) -> None:
    eve = await accounts.user()
    older = accounts.session(eve)
    clock.advance(minutes=1)
    current = accounts.session(eve)
    clock.advance(minutes=1)
    newer = accounts.session(eve)

    listed = await list_sessions.execute(ListSessionsQuery(accounts.signed_in(eve, current)))

    assert [(view.id, view.current) for view in listed] == [
        (newer.id, False),
        (current.id, True),
        (older.id, False),
    ]


async def test_each_entry_shows_what_the_session_holds_and_no_secret(
    list_sessions: ListSessions,
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    clock: FixedClock,
) -> None:
    eve = await accounts.user()
    session, refresh_token = accounts.session_with_refresh_token(eve)
    clock.advance(days=2)
    await refresh_tokens.execute(RefreshTokensCommand(refresh_token))

    [view] = await list_sessions.execute(ListSessionsQuery(accounts.signed_in(eve, session)))

    assert view == SessionView(
        id=session.id,
        created_at=session.created_at,
        last_used_at=clock.now(),
        expires_at=session.expires_at,
        user_agent="pytest",
        ip="192.0.2.1",
        current=True,
    )


async def test_revoked_and_expired_sessions_are_left_out(
    list_sessions: ListSessions, accounts: Accounts, clock: FixedClock
) -> None:
    eve = await accounts.user()
    current = accounts.session(eve)
    accounts.revoked_session(eve)
    accounts.session(eve, lifetime=timedelta(hours=1))
    clock.advance(hours=1)

    listed = await list_sessions.execute(ListSessionsQuery(accounts.signed_in(eve, current)))

    assert [view.id for view in listed] == [current.id]


async def test_another_users_sessions_are_left_out(
    list_sessions: ListSessions, accounts: Accounts
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    current = accounts.session(eve)
    accounts.session(bob)

    listed = await list_sessions.execute(ListSessionsQuery(accounts.signed_in(eve, current)))

    assert [view.id for view in listed] == [current.id]


async def test_listing_changes_nothing(
    list_sessions: ListSessions, accounts: Accounts, uow: FakeUnitOfWorkFactory
) -> None:
    eve = await accounts.user()
    current = accounts.session(eve)

    await list_sessions.execute(ListSessionsQuery(accounts.signed_in(eve, current)))

    assert uow.commits == 0

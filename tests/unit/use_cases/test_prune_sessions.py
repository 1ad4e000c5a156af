from __future__ import annotations

from datetime import timedelta

import pytest

from application.errors import InvalidRefreshToken, RefreshTokenReused
from application.secret_tokens import hash_secret_token
from application.use_cases.prune_sessions import PruneSessions, PruneSessionsCommand
from application.use_cases.refresh_tokens import RefreshTokens, RefreshTokensCommand
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import Accounts
from tests.unit.passkeys import Passkeys
from tests.unit.second_factor import EMAIL, SecondFactor

GRACE = timedelta(days=7)


async def test_expired_sessions_are_deleted_and_usable_ones_kept(
    prune_sessions: PruneSessions,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user()
    expired = accounts.session(eve, lifetime=timedelta(hours=1))
    expiring_now = accounts.session(eve, lifetime=timedelta(hours=2))
    usable = accounts.session(eve, lifetime=timedelta(hours=2, seconds=1))
    clock.advance(hours=2)

    pruned = await prune_sessions.execute(PruneSessionsCommand(revoked_grace=GRACE))

    assert pruned == 2
    assert expired.id not in store.sessions
    assert expiring_now.id not in store.sessions
    assert list(store.sessions) == [usable.id]
    assert uow.commits == 1


async def test_sessions_revoked_longer_ago_than_the_grace_are_deleted_the_recent_ones_kept(
    prune_sessions: PruneSessions, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    long_ago = accounts.revoked_session(eve)
    clock.advance(seconds=2)
    within_grace = accounts.revoked_session(eve)
    live = accounts.session(eve)
    clock.advance(seconds=(GRACE - timedelta(seconds=1)).total_seconds())

    pruned = await prune_sessions.execute(PruneSessionsCommand(revoked_grace=GRACE))

    assert pruned == 1
    assert long_ago.id not in store.sessions
    assert set(store.sessions) == {within_grace.id, live.id}


async def test_a_revoked_session_is_kept_the_whole_grace_period(
    prune_sessions: PruneSessions, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    revoked = accounts.revoked_session(eve)
    clock.advance(days=GRACE.days - 1)

    assert await prune_sessions.execute(PruneSessionsCommand(revoked_grace=GRACE)) == 0
    clock.advance(days=2)
    assert await prune_sessions.execute(PruneSessionsCommand(revoked_grace=GRACE)) == 1

    assert revoked.id not in store.sessions


async def test_pruning_leaves_other_users_usable_sessions(
    prune_sessions: PruneSessions, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    accounts.session(eve, lifetime=timedelta(minutes=1))
    bobs = accounts.session(bob)
    clock.advance(minutes=2)

    assert await prune_sessions.execute(PruneSessionsCommand(revoked_grace=GRACE)) == 1

    assert list(store.sessions) == [bobs.id]


async def test_pruning_nothing_returns_zero(
    prune_sessions: PruneSessions, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    usable = accounts.session(eve)

    assert await prune_sessions.execute(PruneSessionsCommand(revoked_grace=GRACE)) == 0
    assert list(store.sessions) == [usable.id]


async def test_rotated_tokens_of_pruned_sessions_are_forgotten(
    prune_sessions: PruneSessions,
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user()
    pruned_session, old_token = accounts.session_with_refresh_token(eve)
    await refresh_tokens.execute(RefreshTokensCommand(old_token))
    store.sessions[pruned_session.id].revoke(clock.now())
    clock.advance(seconds=(GRACE + timedelta(seconds=1)).total_seconds())

    await prune_sessions.execute(PruneSessionsCommand(revoked_grace=GRACE))

    assert pruned_session.id not in store.sessions
    assert pruned_session.id not in store.rotated_refresh_tokens.values()
    with pytest.raises(InvalidRefreshToken):
        await refresh_tokens.execute(RefreshTokensCommand(old_token))


async def test_rotated_tokens_of_kept_sessions_are_still_recognised_as_replays(
    prune_sessions: PruneSessions,
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user()
    kept, kept_old_token = accounts.session_with_refresh_token(eve)
    doomed, doomed_old_token = accounts.session_with_refresh_token(eve, lifetime=timedelta(hours=1))
    await refresh_tokens.execute(RefreshTokensCommand(kept_old_token))
    await refresh_tokens.execute(RefreshTokensCommand(doomed_old_token))
    clock.advance(hours=2)

    assert await prune_sessions.execute(PruneSessionsCommand(revoked_grace=GRACE)) == 1

    assert doomed.id not in store.rotated_refresh_tokens.values()
    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(kept_old_token))
    assert store.sessions[kept.id].revoked_at == clock.now()


async def test_expired_second_steps_of_logins_are_deleted_with_the_sessions(
    prune_sessions: PruneSessions, mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)
    await mfa.enrolled(eve)
    await mfa.mfa_token()
    mfa.clock.advance(minutes=4)
    live = await mfa.mfa_token()
    mfa.clock.advance(minutes=1)

    await prune_sessions.execute(PruneSessionsCommand(revoked_grace=GRACE))

    assert [c.token_hash for c in store.mfa_challenges.values()] == [hash_secret_token(live)]


async def test_expired_passkey_challenges_are_deleted_with_the_sessions(
    prune_sessions: PruneSessions, passkeys: Passkeys, store: InMemoryStore, clock: FixedClock
) -> None:
    await passkeys.request_options()
    clock.advance(minutes=4)
    live = await passkeys.request_options()
    clock.advance(minutes=1)

    await prune_sessions.execute(PruneSessionsCommand(revoked_grace=GRACE))

    assert list(store.webauthn_challenges) == [live.challenge_id]

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from application.errors import InvalidAccessToken, InvalidRefreshToken, RefreshTokenReused
from application.secret_tokens import new_secret_token
from application.use_cases.authenticate import Authenticate, AuthenticateCommand
from application.use_cases.refresh_tokens import RefreshTokens, RefreshTokensCommand
from domain.auth_method import (
    PASSWORD_AND_RECOVERY_CODE,
    PASSWORD_AND_TOTP,
    PASSWORD_ONLY,
    AuthMethods,
)
from domain.role import Role
from tests.fakes import FakeAccessTokens, FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import (
    ACCESS_TTL,
    REFRESH_TTL,
    Accounts,
    is_revoked,
    sha256_hex,
    stored_session,
)


async def test_refreshing_returns_a_new_pair_with_a_new_secret_token(
    refresh_tokens: RefreshTokens, accounts: Accounts, tokens: FakeAccessTokens
) -> None:
    eve = await accounts.user()
    _, old_token = accounts.session_with_refresh_token(eve)

    pair = await refresh_tokens.execute(RefreshTokensCommand(old_token))

    assert pair.refresh_token != old_token
    assert len(pair.refresh_token) >= 43  # 256 bits in URL-safe base64
    assert pair.access_token in tokens.issued
    assert pair.expires_in == ACCESS_TTL.total_seconds()
    assert pair.refresh_expires_in == REFRESH_TTL.total_seconds()


@pytest.mark.parametrize("amr", [PASSWORD_ONLY, PASSWORD_AND_TOTP, PASSWORD_AND_RECOVERY_CODE])
async def test_a_refreshed_access_token_keeps_how_its_session_was_opened(
    refresh_tokens: RefreshTokens, accounts: Accounts, tokens: FakeAccessTokens, amr: AuthMethods
) -> None:
    eve = await accounts.user()
    _, old_token = accounts.session_with_refresh_token(eve, amr=amr)

    pair = await refresh_tokens.execute(RefreshTokensCommand(old_token))

    assert tokens.issued[pair.access_token].amr == amr


async def test_refreshing_stores_the_hash_of_the_new_secret_token_never_the_token(
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user()
    session, old_token = accounts.session_with_refresh_token(eve)

    pair = await refresh_tokens.execute(RefreshTokensCommand(old_token))

    stored = stored_session(store, session.id)
    assert stored.refresh_token_hash == sha256_hex(pair.refresh_token)
    assert pair.refresh_token not in dataclasses.astuple(stored)
    # The token traded away is remembered, as a hash, to recognise a replay.
    assert store.rotated_refresh_tokens == {sha256_hex(old_token): session.id}
    assert uow.commits == 1


async def test_refreshing_marks_the_session_used_but_keeps_its_absolute_expiry(
    refresh_tokens: RefreshTokens, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    session, old_token = accounts.session_with_refresh_token(eve)
    clock.advance(days=10)

    pair = await refresh_tokens.execute(RefreshTokensCommand(old_token))

    stored = stored_session(store, session.id)
    assert stored.last_used_at == clock.now()
    assert stored.created_at == session.created_at
    assert stored.expires_at == session.expires_at
    assert pair.refresh_expires_in == (REFRESH_TTL - timedelta(days=10)).total_seconds()


async def test_each_refresh_leaves_less_of_the_sessions_lifetime(
    refresh_tokens: RefreshTokens, accounts: Accounts, clock: FixedClock
) -> None:
    eve = await accounts.user()
    _, token = accounts.session_with_refresh_token(eve)
    remaining = []
    for _ in range(3):
        clock.advance(days=7)
        pair = await refresh_tokens.execute(RefreshTokensCommand(token))
        token = pair.refresh_token
        remaining.append(pair.refresh_expires_in)

    assert remaining == [
        (REFRESH_TTL - timedelta(days=days)).total_seconds() for days in (7, 14, 21)
    ]


async def test_the_new_secret_token_can_be_refreshed_in_turn(
    refresh_tokens: RefreshTokens, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    session, first = accounts.session_with_refresh_token(eve)

    second = await refresh_tokens.execute(RefreshTokensCommand(first))
    third = await refresh_tokens.execute(RefreshTokensCommand(second.refresh_token))

    assert len({first, second.refresh_token, third.refresh_token}) == 3
    assert stored_session(store, session.id).refresh_token_hash == sha256_hex(third.refresh_token)


async def test_the_access_token_carries_the_users_current_role_and_the_same_session(
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    store: InMemoryStore,
    tokens: FakeAccessTokens,
    clock: FixedClock,
) -> None:
    eve = await accounts.user(role=Role.USER)
    session, old_token = accounts.session_with_refresh_token(eve)
    store.users[eve.id].role = Role.ADMIN
    clock.advance(minutes=20)

    pair = await refresh_tokens.execute(RefreshTokensCommand(old_token))

    claims = tokens.issued[pair.access_token]
    assert claims.role is Role.ADMIN
    assert claims.subject == eve.id
    assert claims.session_id == session.id
    assert claims.issued_at == clock.now()
    assert claims.expires_at == clock.now() + ACCESS_TTL


async def test_each_refresh_issues_an_access_token_with_its_own_token_id(
    refresh_tokens: RefreshTokens, accounts: Accounts, tokens: FakeAccessTokens
) -> None:
    eve = await accounts.user()
    _, token = accounts.session_with_refresh_token(eve)

    first = await refresh_tokens.execute(RefreshTokensCommand(token))
    second = await refresh_tokens.execute(RefreshTokensCommand(first.refresh_token))

    assert tokens.issued[first.access_token].token_id != tokens.issued[second.access_token].token_id


async def test_presenting_a_rotated_token_again_is_reuse_and_revokes_that_whole_session(
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user()
    session, old_token = accounts.session_with_refresh_token(eve)
    pair = await refresh_tokens.execute(RefreshTokensCommand(old_token))
    clock.advance(minutes=5)

    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(old_token))

    assert stored_session(store, session.id).revoked_at == clock.now()
    with pytest.raises(InvalidRefreshToken):
        await refresh_tokens.execute(RefreshTokensCommand(pair.refresh_token))


async def test_reuse_revokes_only_the_session_the_token_belonged_to(
    refresh_tokens: RefreshTokens, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    stolen, old_token = accounts.session_with_refresh_token(eve)
    eves_other = accounts.session(eve)
    bobs = accounts.session(bob)
    await refresh_tokens.execute(RefreshTokensCommand(old_token))

    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(old_token))

    assert is_revoked(store, stolen)
    assert not is_revoked(store, eves_other)
    assert not is_revoked(store, bobs)


async def test_reuse_ends_the_access_tokens_of_that_session_at_once(
    refresh_tokens: RefreshTokens, authenticate: Authenticate, accounts: Accounts
) -> None:
    eve = await accounts.user()
    _, old_token = accounts.session_with_refresh_token(eve)
    pair = await refresh_tokens.execute(RefreshTokensCommand(old_token))
    assert (await authenticate.execute(AuthenticateCommand(pair.access_token))).user.id == eve.id

    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(old_token))

    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(pair.access_token))


async def test_every_token_a_session_traded_away_is_recognised_not_only_the_last(
    refresh_tokens: RefreshTokens, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    session, first = accounts.session_with_refresh_token(eve)
    second = await refresh_tokens.execute(RefreshTokensCommand(first))
    await refresh_tokens.execute(RefreshTokensCommand(second.refresh_token))

    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(first))

    assert is_revoked(store, session)


async def test_presenting_a_rotated_token_once_more_keeps_the_first_revocation_time(
    refresh_tokens: RefreshTokens, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    session, old_token = accounts.session_with_refresh_token(eve)
    await refresh_tokens.execute(RefreshTokensCommand(old_token))
    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(old_token))
    first_revocation = clock.now()
    clock.advance(minutes=1)

    with pytest.raises(RefreshTokenReused):
        await refresh_tokens.execute(RefreshTokensCommand(old_token))

    assert stored_session(store, session.id).revoked_at == first_revocation


async def test_an_unknown_refresh_token_is_invalid_and_changes_nothing(
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user()
    session = accounts.session(eve)

    with pytest.raises(InvalidRefreshToken):
        await refresh_tokens.execute(RefreshTokensCommand(new_secret_token()))

    assert stored_session(store, session.id) == session
    assert store.rotated_refresh_tokens == {}
    assert uow.commits == 0


@pytest.mark.parametrize("past_expiry", [timedelta(0), timedelta(seconds=1), timedelta(days=1)])
async def test_the_refresh_token_of_an_expired_session_is_invalid(
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    past_expiry: timedelta,
) -> None:
    eve = await accounts.user()
    session, token = accounts.session_with_refresh_token(eve)
    clock.advance(seconds=(REFRESH_TTL + past_expiry).total_seconds())

    with pytest.raises(InvalidRefreshToken):
        await refresh_tokens.execute(RefreshTokensCommand(token))

    assert stored_session(store, session.id) == session


async def test_the_refresh_token_of_a_session_still_a_moment_from_expiry_works(
    refresh_tokens: RefreshTokens, accounts: Accounts, clock: FixedClock
) -> None:
    eve = await accounts.user()
    _, token = accounts.session_with_refresh_token(eve)
    clock.advance(seconds=REFRESH_TTL.total_seconds() - 1)

    pair = await refresh_tokens.execute(RefreshTokensCommand(token))

    assert pair.refresh_expires_in == 1


async def test_the_refresh_token_of_a_revoked_session_is_invalid(
    refresh_tokens: RefreshTokens, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    session, token = accounts.session_with_refresh_token(eve)
    store.sessions[session.id].revoke(clock.now())
    revoked = stored_session(store, session.id)

    with pytest.raises(InvalidRefreshToken):
        await refresh_tokens.execute(RefreshTokensCommand(token))

    assert stored_session(store, session.id) == revoked


async def test_the_refresh_token_of_a_deactivated_user_is_invalid_and_is_not_rotated(
    refresh_tokens: RefreshTokens,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user(is_active=False)
    session, token = accounts.session_with_refresh_token(eve)

    with pytest.raises(InvalidRefreshToken):
        await refresh_tokens.execute(RefreshTokensCommand(token))

    assert stored_session(store, session.id) == session
    assert store.rotated_refresh_tokens == {}
    assert uow.commits == 0
    # Not mistaken for a replay either: it was never traded away.
    with pytest.raises(InvalidRefreshToken):
        await refresh_tokens.execute(RefreshTokensCommand(token))

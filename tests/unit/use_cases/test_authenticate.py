from __future__ import annotations

import dataclasses

import pytest

from application.errors import InvalidAccessToken
from application.ports.security import AccessTokenClaims
from application.use_cases.authenticate import Authenticate, AuthenticateCommand
from application.use_cases.delete_account import DeleteAccount, DeleteAccountCommand
from application.use_cases.log_in import LogIn, LogInCommand
from domain.auth_method import PASSWORD_ONLY
from domain.role import Role
from tests.fakes import FakeAccessTokens, FixedClock, InMemoryStore
from tests.unit.builders import ACCESS_TTL, PASSWORD, Accounts, stored_sessions_of


async def test_a_token_from_login_authenticates_its_user_and_session(
    log_in: LogIn, authenticate: Authenticate, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com", name="Eve")
    pair = await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    principal = await authenticate.execute(AuthenticateCommand(pair.access_token))

    [session] = stored_sessions_of(store, eve.id)
    assert principal.user == eve
    assert principal.session_id == session.id


async def test_the_principal_is_the_user_as_stored_now_not_as_the_token_claims(
    authenticate: Authenticate,
    accounts: Accounts,
    store: InMemoryStore,
    tokens: FakeAccessTokens,
) -> None:
    eve = await accounts.user("eve@example.com", role=Role.USER)
    token = await accounts.access_token(eve, accounts.session(eve))
    store.users[eve.id].role = Role.ADMIN
    store.users[eve.id].name = "Promoted Eve"

    principal = await authenticate.execute(AuthenticateCommand(token))

    assert tokens.issued[token].role is Role.USER
    assert principal.user.role is Role.ADMIN
    assert principal.user.name == "Promoted Eve"


async def test_a_demotion_takes_effect_on_the_next_request(
    authenticate: Authenticate, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    token = await accounts.access_token(root, accounts.session(root))
    store.users[root.id].role = Role.USER

    principal = await authenticate.execute(AuthenticateCommand(token))

    assert principal.user.role is Role.USER


async def test_a_token_still_valid_a_moment_before_expiry_authenticates(
    authenticate: Authenticate, accounts: Accounts, clock: FixedClock
) -> None:
    eve = await accounts.user()
    token = await accounts.access_token(eve, accounts.session(eve))
    clock.advance(seconds=ACCESS_TTL.total_seconds() - 1)

    assert (await authenticate.execute(AuthenticateCommand(token))).user.id == eve.id


async def test_an_expired_access_token_is_refused(
    authenticate: Authenticate, accounts: Accounts, clock: FixedClock
) -> None:
    eve = await accounts.user()
    token = await accounts.access_token(eve, accounts.session(eve))
    clock.advance(seconds=ACCESS_TTL.total_seconds() + 1)

    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(token))


async def test_a_token_that_was_never_issued_is_refused(authenticate: Authenticate) -> None:
    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand("forged"))


async def test_a_token_of_a_revoked_session_is_refused_before_it_expires(
    authenticate: Authenticate, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user()
    session = accounts.session(eve)
    token = await accounts.access_token(eve, session)
    store.sessions[session.id].revoke(clock.now())

    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(token))


async def test_a_token_of_an_expired_session_is_refused_before_the_token_expires(
    authenticate: Authenticate, accounts: Accounts, clock: FixedClock
) -> None:
    eve = await accounts.user()
    session = accounts.session(eve, lifetime=ACCESS_TTL / 3)
    token = await accounts.access_token(eve, session)
    clock.advance(seconds=(ACCESS_TTL / 2).total_seconds())

    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(token))


async def test_a_token_of_a_deactivated_user_is_refused(
    authenticate: Authenticate, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user()
    token = await accounts.access_token(eve, accounts.session(eve))
    store.users[eve.id].is_active = False

    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(token))


async def test_a_token_of_a_deleted_user_is_refused(
    authenticate: Authenticate, delete_account: DeleteAccount, accounts: Accounts
) -> None:
    eve = await accounts.user()
    token = await accounts.access_token(eve, accounts.session(eve))
    await delete_account.execute(DeleteAccountCommand(accounts.signed_in(eve), PASSWORD))

    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(token))


async def test_a_token_naming_someone_elses_session_is_refused(
    authenticate: Authenticate, accounts: Accounts, tokens: FakeAccessTokens
) -> None:
    eve = await accounts.user("eve@example.com")
    mallory = await accounts.user("mallory@example.com")
    eves_token = await accounts.access_token(eve, accounts.session(eve))
    # Mallory's own subject, but Eve's session id: a well-signed token must still match both.
    claims = dataclasses.replace(tokens.issued[eves_token], subject=mallory.id)
    mixed = await tokens.issue(claims)

    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(mixed))


async def test_a_token_for_a_session_that_was_never_stored_is_refused(
    authenticate: Authenticate, accounts: Accounts, tokens: FakeAccessTokens, clock: FixedClock
) -> None:
    eve = await accounts.user()
    now = clock.now()
    claims = AccessTokenClaims(
        subject=eve.id,
        session_id=eve.id,  # any id that is not a session
        token_id=eve.id,
        role=eve.role,
        issued_at=now,
        expires_at=now + ACCESS_TTL,
        amr=PASSWORD_ONLY,
    )

    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(await tokens.issue(claims)))

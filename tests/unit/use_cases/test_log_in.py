from __future__ import annotations

import dataclasses

import pytest

from application.caller import Caller
from application.errors import AccountDisabled, InvalidCredentials
from application.use_cases.log_in import LogIn, LogInCommand
from domain.audit_event import AuditEventType
from domain.role import Role
from tests.fakes import (
    FakeAccessTokens,
    FakePasswordHasher,
    FixedClock,
    InMemoryStore,
)
from tests.unit.builders import (
    ACCESS_TTL,
    PASSWORD,
    REFRESH_TTL,
    Accounts,
    sha256_hex,
    stored_sessions_of,
    stored_user,
)


async def test_logging_in_returns_a_token_pair_with_the_configured_lifetimes(
    log_in: LogIn, accounts: Accounts
) -> None:
    await accounts.user("eve@example.com")

    pair = await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert pair.access_token
    assert pair.expires_in == ACCESS_TTL.total_seconds()
    assert pair.refresh_expires_in == REFRESH_TTL.total_seconds()


async def test_logging_in_stores_a_session_with_the_refresh_tokens_hash_never_the_token(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user("eve@example.com")

    pair = await log_in.execute(
        LogInCommand(
            "eve@example.com", PASSWORD, Caller(ip="198.51.100.7", user_agent="Firefox/140")
        )
    )

    [session] = stored_sessions_of(store, eve.id)
    assert session.refresh_token_hash == sha256_hex(pair.refresh_token)
    assert pair.refresh_token not in dataclasses.astuple(session)
    assert (session.user_agent, session.ip) == ("Firefox/140", "198.51.100.7")
    assert session.created_at == session.last_used_at == clock.now()
    assert session.expires_at == clock.now() + REFRESH_TTL
    assert session.revoked_at is None


async def test_every_login_opens_its_own_session_with_its_own_unguessable_refresh_token(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")

    first = await log_in.execute(LogInCommand("eve@example.com", PASSWORD))
    second = await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert first.refresh_token != second.refresh_token
    assert first.access_token != second.access_token
    assert len(first.refresh_token) >= 43  # 256 bits in URL-safe base64
    assert len(stored_sessions_of(store, eve.id)) == 2


async def test_the_access_token_names_the_user_the_session_and_the_role_and_expires_after_its_ttl(
    log_in: LogIn,
    accounts: Accounts,
    store: InMemoryStore,
    tokens: FakeAccessTokens,
    clock: FixedClock,
) -> None:
    admin = await accounts.user("root@example.com", role=Role.ADMIN)

    pair = await log_in.execute(LogInCommand("root@example.com", PASSWORD))

    [session] = stored_sessions_of(store, admin.id)
    claims = tokens.issued[pair.access_token]
    assert claims.subject == admin.id
    assert claims.session_id == session.id
    assert claims.role is Role.ADMIN
    assert claims.issued_at == clock.now()
    assert claims.expires_at == clock.now() + ACCESS_TTL


async def test_each_access_token_has_its_own_token_id(
    log_in: LogIn, accounts: Accounts, tokens: FakeAccessTokens
) -> None:
    await accounts.user("eve@example.com")

    first = await log_in.execute(LogInCommand("eve@example.com", PASSWORD))
    second = await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert tokens.issued[first.access_token].token_id != tokens.issued[second.access_token].token_id


async def test_the_email_is_matched_whatever_its_case_and_surrounding_spaces(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")

    await log_in.execute(LogInCommand("  EVE@Example.com ", PASSWORD))

    assert len(stored_sessions_of(store, eve.id)) == 1


async def test_a_successful_login_spends_exactly_one_hash_verification(
    log_in: LogIn, accounts: Accounts, hasher: FakePasswordHasher
) -> None:
    await accounts.user("eve@example.com")

    await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert hasher.verifications == 1


async def test_login_with_a_wrong_password_is_refused_after_one_hash_verification(
    log_in: LogIn,
    accounts: Accounts,
    hasher: FakePasswordHasher,
    store: InMemoryStore,
) -> None:
    await accounts.user("eve@example.com")

    with pytest.raises(InvalidCredentials):
        await log_in.execute(LogInCommand("eve@example.com", "not the password"))

    assert hasher.verifications == 1
    assert store.sessions == {}
    [event] = store.audit_events.values()
    assert event.type is AuditEventType.LOGIN_FAILED
    assert event.data == {"reason": "wrong_password"}


@pytest.mark.parametrize(
    "email", ["nobody@example.com", "not an email", "Eve <eve@example.com>", "", "eve\x00@x.com"]
)
async def test_login_with_unknown_email_spends_a_hash_verification_like_a_wrong_password(
    log_in: LogIn,
    accounts: Accounts,
    hasher: FakePasswordHasher,
    store: InMemoryStore,
    email: str,
) -> None:
    await accounts.user("eve@example.com")

    with pytest.raises(InvalidCredentials) as unknown:
        await log_in.execute(LogInCommand(email, PASSWORD))

    assert hasher.verifications == 1
    assert store.sessions == {}
    with pytest.raises(InvalidCredentials) as wrong_password:
        await log_in.execute(LogInCommand("eve@example.com", "not the password"))
    assert str(unknown.value) == str(wrong_password.value)


async def test_a_deactivated_account_with_the_right_password_is_disabled_and_gets_no_session(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore
) -> None:
    await accounts.user("eve@example.com", is_active=False)

    with pytest.raises(AccountDisabled):
        await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert store.sessions == {}


async def test_a_deactivated_account_with_a_wrong_password_says_only_invalid_credentials(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore
) -> None:
    await accounts.user("eve@example.com", is_active=False)

    with pytest.raises(InvalidCredentials):
        await log_in.execute(LogInCommand("eve@example.com", "not the password"))

    assert store.sessions == {}


async def test_a_hash_made_at_another_cost_is_rehashed_at_the_configured_cost_on_login(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore, hasher: FakePasswordHasher
) -> None:
    old_hash = await FakePasswordHasher(cost=10).hash(PASSWORD)
    eve = await accounts.user("eve@example.com", password_hash=old_hash)

    await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    stored = stored_user(store, eve.id)
    assert stored is not None
    assert stored.password_hash == await hasher.hash(PASSWORD)
    assert not hasher.needs_rehash(stored.password_hash)
    assert await hasher.verify(PASSWORD, stored.password_hash)


async def test_a_hash_at_the_configured_cost_is_left_alone_on_login(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user("eve@example.com")
    clock.advance(minutes=5)

    await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert stored_user(store, eve.id) == eve


async def test_a_wrong_password_never_rehashes_an_old_hash(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore
) -> None:
    old_hash = await FakePasswordHasher(cost=10).hash(PASSWORD)
    eve = await accounts.user("eve@example.com", password_hash=old_hash)

    with pytest.raises(InvalidCredentials):
        await log_in.execute(LogInCommand("eve@example.com", "not the password"))

    stored = stored_user(store, eve.id)
    assert stored is not None
    assert stored.password_hash == old_hash


async def test_a_password_changed_while_it_was_being_checked_refuses_the_login(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore, hasher: FakePasswordHasher
) -> None:
    eve = await accounts.user("eve@example.com")
    new_hash = await hasher.hash("changed meanwhile")

    async def change_the_password() -> None:
        store.users[eve.id].password_hash = new_hash

    hasher.during_verify = change_the_password

    with pytest.raises(InvalidCredentials):
        await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert store.sessions == {}


async def test_an_account_deactivated_while_its_password_was_being_checked_gets_no_session(
    log_in: LogIn, accounts: Accounts, store: InMemoryStore, hasher: FakePasswordHasher
) -> None:
    eve = await accounts.user("eve@example.com")

    async def deactivate() -> None:
        store.users[eve.id].is_active = False

    hasher.during_verify = deactivate

    with pytest.raises(AccountDisabled):
        await log_in.execute(LogInCommand("eve@example.com", PASSWORD))

    assert store.sessions == {}

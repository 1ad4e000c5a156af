"""Forgotten passwords: RequestPasswordReset queues a link, ResetPassword spends it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.errors import InvalidAccessToken, InvalidOrExpiredToken
from application.use_cases.authenticate import Authenticate, AuthenticateCommand
from application.use_cases.request_email_verification import (
    RequestEmailVerification,
    RequestEmailVerificationCommand,
)
from application.use_cases.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from application.use_cases.reset_password import ResetPassword, ResetPasswordCommand
from domain.errors import WeakPassword
from domain.one_time_token import TokenPurpose
from domain.user import User
from tests.fakes import FakePasswordHasher, FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import (
    LINK_BASE,
    NEW_PASSWORD,
    PASSWORD,
    Accounts,
    is_revoked,
    queued_mail,
    queued_mail_to,
    secret_in,
    sha256_hex,
    stored_tokens_of,
    stored_user,
)

RESET = TokenPurpose.RESET_PASSWORD


def password_hash_of(store: InMemoryStore, user: User) -> str:
    found = stored_user(store, user.id)
    assert found is not None
    assert found.password_hash is not None
    return found.password_hash


async def reset_link_secret(
    request_password_reset: RequestPasswordReset, store: InMemoryStore, email: str
) -> str:
    """Ask for a reset, and read the token out of the newest email to that address."""
    await request_password_reset.execute(RequestPasswordResetCommand(email))
    *_, newest = queued_mail_to(store, email)
    return secret_in(newest, "reset-password")


# --- asking for a reset ------------------------------------------------------------------------


async def test_an_active_account_gets_one_email_with_a_link_to_the_reset_page(
    request_password_reset: RequestPasswordReset,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user("eve@example.com")

    await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))

    [queued] = queued_mail(store)
    assert queued.message.to == "eve@example.com"
    assert queued.message.subject == "Reset your password"
    assert (queued.attempts, queued.next_attempt_at, queued.sent_at) == (0, clock.now(), None)
    secret = secret_in(queued.message, "reset-password")
    assert f"{LINK_BASE}/reset-password?token={secret}" in queued.message.text
    assert len(secret) >= 43  # 256 bits, URL-safe base64
    assert uow.commits == 1
    [token] = stored_tokens_of(store, eve.id, RESET)
    assert token.token_hash == sha256_hex(secret)
    assert secret not in repr(token)
    assert token.email == "eve@example.com"
    assert (token.created_at, token.used_at) == (clock.now(), None)


async def test_the_reset_link_is_valid_for_thirty_minutes(
    request_password_reset: RequestPasswordReset,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")

    await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))

    [token] = stored_tokens_of(store, eve.id, RESET)
    assert token.expires_at == clock.now() + timedelta(minutes=30)
    [message] = queued_mail_to(store, "eve@example.com")
    assert "30 minutes" in message.text


async def test_the_email_is_matched_however_it_is_typed(
    request_password_reset: RequestPasswordReset, accounts: Accounts, store: InMemoryStore
) -> None:
    await accounts.user("eve@example.com")

    await request_password_reset.execute(RequestPasswordResetCommand("  EVE@Example.COM "))

    assert [m.message.to for m in queued_mail(store)] == ["eve@example.com"]


@pytest.mark.parametrize(
    "email",
    ["nobody@example.com", "not an email", "", "Eve <eve@example.com>", "dora@example.com"],
    ids=["unknown", "malformed", "empty", "display-name", "deactivated"],
)
async def test_nothing_is_sent_for_an_unknown_malformed_or_deactivated_address_and_nothing_is_said(
    request_password_reset: RequestPasswordReset,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
    email: str,
) -> None:
    await accounts.user("eve@example.com")
    await accounts.user("dora@example.com", is_active=False)

    await request_password_reset.execute(RequestPasswordResetCommand(email))

    assert queued_mail(store) == []
    assert store.one_time_tokens == {}
    assert uow.commits == 0


async def test_a_new_request_makes_the_older_unused_links_useless(
    request_password_reset: RequestPasswordReset,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))
    clock.advance(minutes=1)

    await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))

    older, newer = stored_tokens_of(store, eve.id, RESET)
    assert older.used_at == clock.now()
    assert newer.used_at is None


async def test_a_fourth_request_within_the_hour_sends_nothing_and_says_nothing(
    request_password_reset: RequestPasswordReset,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    for _ in range(3):
        await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))
        clock.advance(minutes=10)

    await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))

    assert len(queued_mail(store)) == 3
    assert len(stored_tokens_of(store, eve.id, RESET)) == 3


async def test_a_throttled_request_leaves_the_last_link_working(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
) -> None:
    eve = await accounts.user("eve@example.com")
    for _ in range(3):
        last = await reset_link_secret(request_password_reset, store, "eve@example.com")

    await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))
    await reset_password.execute(ResetPasswordCommand(last, NEW_PASSWORD))

    assert await hasher.verify(NEW_PASSWORD, password_hash_of(store, eve))


async def test_an_hour_after_the_first_request_another_one_is_sent(
    request_password_reset: RequestPasswordReset,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    await accounts.user("eve@example.com")
    for _ in range(3):
        await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))
        clock.advance(minutes=10)
    clock.advance(minutes=31)  # 61 minutes after the first, 41 after the third

    await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))

    assert len(queued_mail(store)) == 4


async def test_the_throttle_counts_each_account_on_its_own(
    request_password_reset: RequestPasswordReset, accounts: Accounts, store: InMemoryStore
) -> None:
    await accounts.user("eve@example.com")
    await accounts.user("bob@example.com")
    for _ in range(4):
        await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))

    await request_password_reset.execute(RequestPasswordResetCommand("bob@example.com"))

    assert len(queued_mail_to(store, "eve@example.com")) == 3
    assert len(queued_mail_to(store, "bob@example.com")) == 1


# --- setting the new password --------------------------------------------------------------------


async def test_the_link_sets_the_new_password_and_revokes_every_session_of_the_account(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    bob = await accounts.user("bob@example.com")
    laptop, phone = accounts.session(eve), accounts.session(eve)
    bobs = accounts.session(bob)
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")
    clock.advance(minutes=5)

    await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    stored_hash = password_hash_of(store, eve)
    assert await hasher.verify(NEW_PASSWORD, stored_hash)
    assert not await hasher.verify(PASSWORD, stored_hash)
    assert store.users[eve.id].updated_at == clock.now()
    assert store.sessions[laptop.id].revoked_at == clock.now()
    assert store.sessions[phone.id].revoked_at == clock.now()
    assert not is_revoked(store, bobs)
    assert password_hash_of(store, bob) == bob.password_hash


async def test_after_a_reset_the_old_access_tokens_stop_working_at_once(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    authenticate: Authenticate,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    stolen = accounts.session(eve)
    stolen_token = await accounts.access_token(eve, stolen)
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")

    await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    with pytest.raises(InvalidAccessToken):
        await authenticate.execute(AuthenticateCommand(stolen_token))


async def test_a_link_works_once(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")
    await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))
    [token] = stored_tokens_of(store, eve.id, RESET)
    assert token.used_at == clock.now()

    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand(secret, "yet another passphrase"))

    assert await hasher.verify(NEW_PASSWORD, password_hash_of(store, eve))


async def test_a_link_still_works_just_before_thirty_minutes(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")
    clock.advance(minutes=29, seconds=59)

    await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    assert await hasher.verify(NEW_PASSWORD, password_hash_of(store, eve))


async def test_an_expired_link_is_refused_and_nothing_changes(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    session = accounts.session(eve)
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")
    clock.advance(minutes=31)

    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    assert stored_user(store, eve.id) == eve
    assert not is_revoked(store, session)


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 43])
async def test_a_made_up_token_is_refused(
    reset_password: ResetPassword, accounts: Accounts, store: InMemoryStore, token: str
) -> None:
    eve = await accounts.user("eve@example.com")

    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand(token, NEW_PASSWORD))

    assert stored_user(store, eve.id) == eve


@pytest.mark.parametrize("weak", ["short", "password1", "EVE@example.com"])
async def test_a_weak_password_is_refused_without_spending_the_link(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    weak: str,
) -> None:
    eve = await accounts.user("eve@example.com")
    session = accounts.session(eve)
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")

    with pytest.raises(WeakPassword):
        await reset_password.execute(ResetPasswordCommand(secret, weak))

    assert stored_user(store, eve.id) == eve
    assert not is_revoked(store, session)
    [token] = stored_tokens_of(store, eve.id, RESET)
    assert token.used_at is None
    await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))
    assert await hasher.verify(NEW_PASSWORD, password_hash_of(store, eve))


async def test_a_link_of_an_account_deactivated_since_is_refused(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")
    store.users[eve.id].is_active = False

    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    assert password_hash_of(store, eve) == eve.password_hash


async def test_a_link_of_a_deactivated_account_is_refused_before_the_password_is_judged(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")
    store.users[eve.id].is_active = False

    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand(secret, "short"))


async def test_an_account_deactivated_while_the_password_was_hashed_keeps_its_password(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")

    async def deactivate() -> None:
        store.users[eve.id].is_active = False

    hasher.during_hash = deactivate

    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    assert password_hash_of(store, eve) == eve.password_hash


async def test_a_link_used_by_another_request_while_the_password_was_hashed_is_refused(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")
    concurrent_hash = await hasher.hash("set by the other request")

    async def the_other_request_resets_first() -> None:
        hasher.during_hash = None
        await reset_password.execute(ResetPasswordCommand(secret, "set by the other request"))

    hasher.during_hash = the_other_request_resets_first

    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    assert password_hash_of(store, eve) == concurrent_hash


async def test_a_link_of_an_account_deleted_since_is_refused(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await reset_link_secret(request_password_reset, store, "eve@example.com")
    del store.users[eve.id]

    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    assert store.users == {}


async def test_an_email_verification_link_cannot_reset_a_password(
    request_email_verification: RequestEmailVerification,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    await request_email_verification.execute(
        RequestEmailVerificationCommand(accounts.signed_in(eve))
    )
    [message] = queued_mail_to(store, "eve@example.com")
    secret = secret_in(message, "verify-email")

    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    assert stored_user(store, eve.id) == eve


async def test_a_newer_request_makes_the_older_link_fail_and_the_newer_one_work(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
    hasher: FakePasswordHasher,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    older = await reset_link_secret(request_password_reset, store, "eve@example.com")
    clock.advance(minutes=2)
    newer = await reset_link_secret(request_password_reset, store, "eve@example.com")

    with pytest.raises(InvalidOrExpiredToken):
        await reset_password.execute(ResetPasswordCommand(older, NEW_PASSWORD))

    assert password_hash_of(store, eve) == eve.password_hash
    await reset_password.execute(ResetPasswordCommand(newer, NEW_PASSWORD))
    assert await hasher.verify(NEW_PASSWORD, password_hash_of(store, eve))

"""Proving an address: RequestEmailVerification queues a link, VerifyEmail spends it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.caller import Principal
from application.errors import InvalidAccessToken, InvalidOrExpiredToken
from application.use_cases.request_email_verification import (
    RequestEmailVerification,
    RequestEmailVerificationCommand,
)
from application.use_cases.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from application.use_cases.update_profile import UpdateProfile, UpdateProfileCommand
from application.use_cases.verify_email import VerifyEmail, VerifyEmailCommand
from domain.one_time_token import TokenPurpose
from domain.user import User
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import (
    LINK_BASE,
    PASSWORD,
    Accounts,
    queued_mail,
    queued_mail_to,
    secret_in,
    sha256_hex,
    stored_tokens_of,
    stored_user,
)

VERIFY = TokenPurpose.VERIFY_EMAIL


def stored(store: InMemoryStore, user: User) -> User:
    found = stored_user(store, user.id)
    assert found is not None
    return found


async def verification_secret(
    request_email_verification: RequestEmailVerification,
    store: InMemoryStore,
    principal: Principal,
) -> str:
    """Ask for a verification email, and read the token out of the newest one to the user."""
    await request_email_verification.execute(RequestEmailVerificationCommand(principal))
    *_, newest = queued_mail_to(store, stored(store, principal.user).email.value)
    return secret_in(newest, "verify-email")


# --- asking for a verification email ------------------------------------------------------------


async def test_an_unverified_account_gets_one_email_with_a_link_to_the_verification_page(
    request_email_verification: RequestEmailVerification,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user("eve@example.com")

    await request_email_verification.execute(
        RequestEmailVerificationCommand(accounts.signed_in(eve))
    )

    [queued] = queued_mail(store)
    assert queued.message.to == "eve@example.com"
    assert queued.message.subject == "Confirm your email address"
    assert queued.next_attempt_at == clock.now()
    secret = secret_in(queued.message, "verify-email")
    assert f"{LINK_BASE}/verify-email?token={secret}" in queued.message.text
    assert uow.commits == 1
    [token] = stored_tokens_of(store, eve.id, VERIFY)
    assert token.token_hash == sha256_hex(secret)
    assert token.email == "eve@example.com"
    assert token.used_at is None


async def test_the_verification_link_is_valid_for_24_hours(
    request_email_verification: RequestEmailVerification,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")

    await request_email_verification.execute(
        RequestEmailVerificationCommand(accounts.signed_in(eve))
    )

    [token] = stored_tokens_of(store, eve.id, VERIFY)
    assert token.expires_at == clock.now() + timedelta(hours=24)
    [message] = queued_mail_to(store, "eve@example.com")
    assert "24 hours" in message.text


async def test_an_already_verified_address_gets_nothing(
    request_email_verification: RequestEmailVerification,
    accounts: Accounts,
    store: InMemoryStore,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user("eve@example.com", is_verified=True)

    await request_email_verification.execute(
        RequestEmailVerificationCommand(accounts.signed_in(eve))
    )

    assert queued_mail(store) == []
    assert store.one_time_tokens == {}
    assert uow.commits == 0


async def test_asking_for_an_account_deleted_meanwhile_is_an_invalid_access_token(
    request_email_verification: RequestEmailVerification,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    del store.users[eve.id]

    with pytest.raises(InvalidAccessToken):
        await request_email_verification.execute(
            RequestEmailVerificationCommand(accounts.signed_in(eve))
        )

    assert queued_mail(store) == []


async def test_a_fourth_request_within_the_hour_sends_nothing_and_after_the_hour_one_is_sent(
    request_email_verification: RequestEmailVerification,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    for _ in range(3):
        await request_email_verification.execute(
            RequestEmailVerificationCommand(accounts.signed_in(eve))
        )
        clock.advance(minutes=10)

    await request_email_verification.execute(
        RequestEmailVerificationCommand(accounts.signed_in(eve))
    )
    assert len(queued_mail(store)) == 3

    clock.advance(minutes=31)  # 61 minutes after the first
    await request_email_verification.execute(
        RequestEmailVerificationCommand(accounts.signed_in(eve))
    )
    assert len(queued_mail(store)) == 4


async def test_a_new_request_makes_the_older_link_useless(
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    older = await verification_secret(request_email_verification, store, accounts.signed_in(eve))
    clock.advance(minutes=1)
    newer = await verification_secret(request_email_verification, store, accounts.signed_in(eve))

    with pytest.raises(InvalidOrExpiredToken):
        await verify_email.execute(VerifyEmailCommand(older))

    await verify_email.execute(VerifyEmailCommand(newer))
    assert stored(store, eve).is_verified


# --- following the link ------------------------------------------------------------------------


async def test_the_link_marks_the_address_verified(
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await verification_secret(request_email_verification, store, accounts.signed_in(eve))
    clock.advance(hours=3)

    await verify_email.execute(VerifyEmailCommand(secret))

    assert stored(store, eve).is_verified is True
    assert stored(store, eve).updated_at == clock.now()
    [token] = stored_tokens_of(store, eve.id, VERIFY)
    assert token.used_at == clock.now()


async def test_the_link_works_once(
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await verification_secret(request_email_verification, store, accounts.signed_in(eve))
    await verify_email.execute(VerifyEmailCommand(secret))

    with pytest.raises(InvalidOrExpiredToken):
        await verify_email.execute(VerifyEmailCommand(secret))


async def test_the_link_still_works_just_before_24_hours(
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await verification_secret(request_email_verification, store, accounts.signed_in(eve))
    clock.advance(hours=23, minutes=59, seconds=59)

    await verify_email.execute(VerifyEmailCommand(secret))

    assert stored(store, eve).is_verified


async def test_an_expired_link_is_refused(
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await verification_secret(request_email_verification, store, accounts.signed_in(eve))
    clock.advance(hours=24)

    with pytest.raises(InvalidOrExpiredToken):
        await verify_email.execute(VerifyEmailCommand(secret))

    assert stored(store, eve) == eve


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 43])
async def test_a_made_up_token_is_refused(verify_email: VerifyEmail, token: str) -> None:
    with pytest.raises(InvalidOrExpiredToken):
        await verify_email.execute(VerifyEmailCommand(token))


async def test_a_password_reset_link_cannot_verify_an_address(
    request_password_reset: RequestPasswordReset,
    verify_email: VerifyEmail,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))
    [message] = queued_mail_to(store, "eve@example.com")

    with pytest.raises(InvalidOrExpiredToken):
        await verify_email.execute(VerifyEmailCommand(secret_in(message, "reset-password")))

    assert stored(store, eve) == eve


async def test_a_link_sent_to_the_old_address_fails_once_the_email_changed(
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    update_profile: UpdateProfile,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    to_old_address = await verification_secret(
        request_email_verification, store, accounts.signed_in(eve)
    )
    await update_profile.execute(
        UpdateProfileCommand(
            accounts.signed_in(eve), email="eve@new.example.com", current_password=PASSWORD
        )
    )

    with pytest.raises(InvalidOrExpiredToken):
        await verify_email.execute(VerifyEmailCommand(to_old_address))

    assert stored(store, eve).is_verified is False
    to_new_address = await verification_secret(
        request_email_verification, store, accounts.signed_in(eve)
    )
    assert queued_mail(store)[-1].message.to == "eve@new.example.com"
    await verify_email.execute(VerifyEmailCommand(to_new_address))
    assert stored(store, eve).is_verified is True


async def test_a_link_of_an_account_deleted_since_is_refused(
    request_email_verification: RequestEmailVerification,
    verify_email: VerifyEmail,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    eve = await accounts.user("eve@example.com")
    secret = await verification_secret(request_email_verification, store, accounts.signed_in(eve))
    del store.users[eve.id]

    with pytest.raises(InvalidOrExpiredToken):
        await verify_email.execute(VerifyEmailCommand(secret))

    assert store.users == {}

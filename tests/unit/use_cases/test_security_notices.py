"""Security notices: which changes mail the account, to which address, in which words; and that a
change that fails mails nobody."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from application.errors import EmailAlreadyRegistered, InvalidCurrentPassword
from application.ports.mail import MailMessage
from application.security_notices import SecurityNotice, security_notice_email
from application.use_cases.admin.update_user import UpdateUser, UpdateUserCommand
from application.use_cases.change_password import ChangePassword, ChangePasswordCommand
from application.use_cases.request_password_reset import (
    RequestPasswordReset,
    RequestPasswordResetCommand,
)
from application.use_cases.reset_password import ResetPassword, ResetPasswordCommand
from application.use_cases.update_profile import UpdateProfile, UpdateProfileCommand
from domain.email import Email
from domain.errors import WeakPassword
from domain.role import Role
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import (
    CALLER,
    NEW_PASSWORD,
    PASSWORD,
    Accounts,
    queued_mail,
    queued_mail_to,
    secret_in,
)

WHEN = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def notices(store: InMemoryStore) -> list[MailMessage]:
    """Queued mail other than the single-use links a test asked for on the way."""
    return [
        queued.message
        for queued in queued_mail(store)
        if queued.message.subject not in ("Reset your password", "Confirm your email address")
    ]


def assert_says_nothing_secret(message: MailMessage, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in message.text
        assert secret not in message.html
    assert "token=" not in message.text
    assert "href" not in message.html


# --- the words ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SecurityNotice))
def test_every_notice_says_what_happened_when_and_what_to_do_if_it_was_not_you(
    kind: SecurityNotice,
) -> None:
    message = security_notice_email(Email("eve@example.com"), kind, WHEN)

    assert message.to == "eve@example.com"
    assert message.subject
    assert "2026-01-01 at 12:00 UTC" in message.text
    assert "If you did not" in message.text
    assert "administrator" in message.text
    assert "<p>" in message.html
    assert "2026-01-01 at 12:00 UTC" in message.html


def test_notices_of_different_kinds_read_differently() -> None:
    texts = {security_notice_email("eve@example.com", kind, WHEN).text for kind in SecurityNotice}
    subjects = {security_notice_email("a@example.com", k, WHEN).subject for k in SecurityNotice}

    assert len(texts) == len(SecurityNotice)
    assert len(subjects) == len(SecurityNotice)


def test_the_time_is_given_in_utc_whatever_zone_it_came_in() -> None:
    in_paris = WHEN.astimezone(timezone(timedelta(hours=1)))

    message = security_notice_email("eve@example.com", SecurityNotice.PASSWORD_CHANGED, in_paris)

    assert "2026-01-01 at 12:00 UTC" in message.text


def test_a_change_made_by_an_administrator_says_so() -> None:
    by_admin = security_notice_email(
        "eve@example.com", SecurityNotice.TOTP_DISABLED, WHEN, by_admin=True
    )
    by_themself = security_notice_email("eve@example.com", SecurityNotice.TOTP_DISABLED, WHEN)

    assert "by an administrator" in by_admin.text
    assert "by an administrator" in by_admin.html
    assert "by an administrator" not in by_themself.text


def test_the_html_says_the_same_as_the_text_escaped() -> None:
    message = security_notice_email("eve@example.com", SecurityNotice.PASSKEY_ADDED, WHEN)

    assert "“Forgot password”" in message.text
    assert "“Forgot password”" in message.html
    assert "<script" not in message.html


# --- changing the password ---------------------------------------------------------------------


async def test_a_password_change_mails_the_account_a_notice_without_either_password(
    change_password: ChangePassword, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    eve = await accounts.user("eve@example.com")
    clock.advance(minutes=5)

    await change_password.execute(
        ChangePasswordCommand(
            accounts.signed_in(eve, accounts.session(eve)), PASSWORD, NEW_PASSWORD
        )
    )

    [notice] = queued_mail(store)
    assert notice.created_at == clock.now()
    assert notice.message == security_notice_email(
        "eve@example.com", SecurityNotice.PASSWORD_CHANGED, clock.now()
    )
    assert_says_nothing_secret(notice.message, PASSWORD, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("current", "new", "error"),
    [("not the password", NEW_PASSWORD, InvalidCurrentPassword), (PASSWORD, "short", WeakPassword)],
    ids=["wrong current password", "weak new password"],
)
async def test_a_refused_password_change_mails_nothing(
    change_password: ChangePassword,
    accounts: Accounts,
    store: InMemoryStore,
    current: str,
    new: str,
    error: type[Exception],
) -> None:
    eve = await accounts.user()

    with pytest.raises(error):
        await change_password.execute(
            ChangePasswordCommand(accounts.signed_in(eve, accounts.session(eve)), current, new)
        )

    assert queued_mail(store) == []


# --- resetting the password --------------------------------------------------------------------


async def test_a_password_reset_mails_a_notice_without_the_link_or_the_password(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    await accounts.user("eve@example.com")
    await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))
    [link_mail] = queued_mail_to(store, "eve@example.com")
    secret = secret_in(link_mail, "reset-password")
    clock.advance(minutes=10)

    await reset_password.execute(ResetPasswordCommand(secret, NEW_PASSWORD))

    [notice] = notices(store)
    assert notice == security_notice_email(
        "eve@example.com", SecurityNotice.PASSWORD_RESET, clock.now()
    )
    assert_says_nothing_secret(notice, secret, NEW_PASSWORD)


async def test_a_refused_reset_mails_nothing(
    request_password_reset: RequestPasswordReset,
    reset_password: ResetPassword,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    await accounts.user("eve@example.com")
    await request_password_reset.execute(RequestPasswordResetCommand("eve@example.com"))
    [link_mail] = queued_mail_to(store, "eve@example.com")

    with pytest.raises(WeakPassword):
        await reset_password.execute(
            ResetPasswordCommand(secret_in(link_mail, "reset-password"), "password1")
        )

    assert notices(store) == []


# --- changing one's own email ------------------------------------------------------------------


async def test_an_email_change_mails_the_old_address_in_the_same_transaction(
    update_profile: UpdateProfile,
    accounts: Accounts,
    store: InMemoryStore,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    eve = await accounts.user("eve@example.com")

    await update_profile.execute(
        UpdateProfileCommand(
            accounts.signed_in(eve), email="eve@new.example.com", current_password=PASSWORD
        )
    )

    [notice] = queued_mail(store)
    assert notice.message == security_notice_email(
        "eve@example.com", SecurityNotice.EMAIL_CHANGED, clock.now()
    )
    assert "eve@new.example.com" not in notice.message.text
    assert_says_nothing_secret(notice.message, PASSWORD)
    assert uow.commits == 1


@pytest.mark.parametrize(
    "email", [None, "EVE@example.com"], ids=["name only", "the same email in another case"]
)
async def test_an_edit_that_keeps_the_email_mails_nothing(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore, email: str | None
) -> None:
    eve = await accounts.user("eve@example.com")
    command = UpdateProfileCommand(accounts.signed_in(eve), name="Evelyn")
    if email is not None:
        command = UpdateProfileCommand(accounts.signed_in(eve), name="Evelyn", email=email)

    await update_profile.execute(command)

    assert queued_mail(store) == []


async def test_an_email_change_that_rolls_back_mails_nothing(
    update_profile: UpdateProfile, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user("eve@example.com")
    await accounts.user("bob@example.com")

    with pytest.raises(EmailAlreadyRegistered):
        await update_profile.execute(
            UpdateProfileCommand(
                accounts.signed_in(eve), email="bob@example.com", current_password=PASSWORD
            )
        )

    assert queued_mail(store) == []


# --- an admin changing someone's email ---------------------------------------------------------


async def test_an_admin_changing_an_email_mails_the_old_address_that_an_admin_did_it(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")

    await update_user.execute(
        UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, email="eve@new.example.com")
    )

    [notice] = queued_mail(store)
    assert notice.message == security_notice_email(
        "eve@example.com", SecurityNotice.EMAIL_CHANGED, clock.now(), by_admin=True
    )


async def test_an_admin_edit_that_keeps_the_email_mails_nothing(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")

    await update_user.execute(
        UpdateUserCommand(
            accounts.signed_in(root), eve.id, CALLER, email="EVE@example.com", role=Role.ADMIN
        )
    )

    assert queued_mail(store) == []


async def test_an_admin_email_change_that_rolls_back_mails_nothing(
    update_user: UpdateUser, accounts: Accounts, store: InMemoryStore
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")
    await accounts.user("bob@example.com")

    with pytest.raises(EmailAlreadyRegistered):
        await update_user.execute(
            UpdateUserCommand(accounts.signed_in(root), eve.id, CALLER, email="bob@example.com")
        )

    assert queued_mail(store) == []

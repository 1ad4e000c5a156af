"""Security notices: the account's address is told when something that guards the account
changes, so that a person whose account was taken over hears of it. A notice is queued in the
outbox of the unit of work that makes the change: no notice for a change that rolls back, and no
mail server on the request's path. It says what happened and when, and never repeats a secret,
a code, a link that signs in, or a password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, auto
from html import escape

from application.outbox import OutboxMessage
from application.ports.mail import MailMessage
from application.ports.persistence import UnitOfWork
from application.ports.system import IdGenerator
from domain.email import Email


class SecurityNotice(Enum):
    PASSWORD_CHANGED = auto()
    PASSWORD_RESET = auto()
    EMAIL_CHANGED = auto()  # sent to the address the account had before
    TOTP_ENABLED = auto()
    TOTP_DISABLED = auto()
    RECOVERY_CODES_RENEWED = auto()
    PASSKEY_ADDED = auto()


@dataclass(frozen=True, slots=True)
class _Words:
    subject: str
    happened: str  # "… was changed": completed with who (an admin) and when
    consequence: str
    if_not_you: str
    if_not_asked_of_admin: str  # when an administrator made the change


_RESET_AND_TELL = (
    "reset your password at once with “Forgot password” on the sign-in page, "
    "then tell your administrator."
)

_WORDS: dict[SecurityNotice, _Words] = {
    SecurityNotice.PASSWORD_CHANGED: _Words(
        subject="Your password was changed",
        happened="The password of your account was changed",
        consequence="Every other session of the account was signed out.",
        if_not_you=f"If you did not change it, someone knows your password: {_RESET_AND_TELL}",
        if_not_asked_of_admin="If you did not ask for this, contact your administrator.",
    ),
    SecurityNotice.PASSWORD_RESET: _Words(
        subject="Your password was reset",
        happened="The password of your account was reset with a link mailed to this address",
        consequence="Every session of the account was signed out.",
        if_not_you=(
            "If you did not reset it, someone may be reading your mail: secure your mailbox, "
            f"then {_RESET_AND_TELL}"
        ),
        if_not_asked_of_admin="If you did not ask for this, contact your administrator.",
    ),
    SecurityNotice.EMAIL_CHANGED: _Words(
        subject="The email address of your account was changed",
        happened="The email address of your account was changed from this address to another",
        consequence=(
            "This address no longer signs in to the account, and password reset links now go "
            "to the new address."
        ),
        # A reset link would go to the new address, which is not theirs: only an admin helps.
        if_not_you="If you did not make this change, contact your administrator at once.",
        if_not_asked_of_admin="If you did not ask for this, contact your administrator.",
    ),
    SecurityNotice.TOTP_ENABLED: _Words(
        subject="Two-step sign-in was turned on",
        happened=(
            "Two-step sign-in (a code from an authenticator app) was turned on for your account"
        ),
        consequence="Signing in now takes a code from that app as well as the password.",
        if_not_you=f"If you did not turn it on, {_RESET_AND_TELL}",
        if_not_asked_of_admin="If you did not ask for this, contact your administrator.",
    ),
    SecurityNotice.TOTP_DISABLED: _Words(
        subject="Two-step sign-in was turned off",
        happened=(
            "Two-step sign-in (a code from an authenticator app) was turned off for your account"
        ),
        consequence=(
            "Signing in now takes only the password, and the recovery codes no longer work."
        ),
        if_not_you=f"If you did not turn it off, {_RESET_AND_TELL}",
        if_not_asked_of_admin=(
            "If you did not ask for this, contact your administrator, and turn two-step sign-in "
            "on again once you are signed in."
        ),
    ),
    SecurityNotice.RECOVERY_CODES_RENEWED: _Words(
        subject="New recovery codes were made",
        happened="New recovery codes were made for your account",
        consequence="The earlier recovery codes no longer work.",
        if_not_you=f"If you did not ask for new codes, {_RESET_AND_TELL}",
        if_not_asked_of_admin="If you did not ask for this, contact your administrator.",
    ),
    SecurityNotice.PASSKEY_ADDED: _Words(
        subject="A passkey was added to your account",
        happened="A passkey was added to your account",
        consequence="That passkey can sign in to the account without the password.",
        # The password alone does not shut the passkey out: an admin must remove it too.
        if_not_you=(
            "If you did not add it, reset your password at once with “Forgot password” on the "
            "sign-in page, and ask your administrator to remove the passkey."
        ),
        if_not_asked_of_admin="If you did not ask for this, contact your administrator.",
    ),
}


def security_notice_email(
    to: Email | str, kind: SecurityNotice, at: datetime, *, by_admin: bool = False
) -> MailMessage:
    """The words of one notice, plain text and HTML alike."""
    words = _WORDS[kind]
    who = " by an administrator" if by_admin else ""
    when = at.astimezone(UTC).strftime("%Y-%m-%d at %H:%M UTC")
    happened = f"{words.happened}{who} on {when}."
    advice = words.if_not_asked_of_admin if by_admin else words.if_not_you
    paragraphs = [happened, words.consequence, advice]
    text = "\n\n".join(paragraphs) + "\n"
    html = "".join(f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs)
    address = to.value if isinstance(to, Email) else to
    return MailMessage(to=address, subject=words.subject, text=text, html=html)


async def send_security_notice(
    uow: UnitOfWork,
    *,
    ids: IdGenerator,
    to: Email | str,
    kind: SecurityNotice,
    now: datetime,
    by_admin: bool = False,
) -> None:
    """Queue the notice in the unit of work's outbox; it is sent once the caller commits."""
    message = security_notice_email(to, kind, now, by_admin=by_admin)
    await uow.outbox.add(OutboxMessage.new(ids.new_id(), message, now))

"""The words of the emails Portcullis sends. Plain text first; the HTML says the same."""

from __future__ import annotations

from html import escape

from application.ports.mail import MailMessage


def password_reset_email(to: str, link: str, valid_minutes: int) -> MailMessage:
    text = (
        "Someone asked to reset the password of your account.\n\n"
        f"To choose a new password, open this link within {valid_minutes} minutes:\n\n"
        f"{link}\n\n"
        "If it was not you, ignore this email: your password stays as it is.\n"
    )
    html = (
        "<p>Someone asked to reset the password of your account.</p>"
        f'<p><a href="{escape(link)}">Choose a new password</a> '
        f"(the link works once, within {valid_minutes} minutes).</p>"
        "<p>If it was not you, ignore this email: your password stays as it is.</p>"
    )
    return MailMessage(to=to, subject="Reset your password", text=text, html=html)


def verification_email(to: str, link: str, valid_hours: int) -> MailMessage:
    text = (
        "Please confirm that this is your email address by opening this link "
        f"within {valid_hours} hours:\n\n{link}\n\n"
        "If you did not ask for this, ignore this email.\n"
    )
    html = (
        f'<p>Please <a href="{escape(link)}">confirm your email address</a> '
        f"(the link works once, within {valid_hours} hours).</p>"
        "<p>If you did not ask for this, ignore this email.</p>"
    )
    return MailMessage(to=to, subject="Confirm your email address", text=text, html=html)


def invitation_email(to: str, link: str, valid_days: int) -> MailMessage:
    text = (
        "You have been invited to open an account.\n\n"
        f"To accept, open this link within {valid_days} days and choose your password:\n\n"
        f"{link}\n\n"
        "If you did not expect this invitation, ignore this email: no account is made "
        "unless you accept.\n"
    )
    html = (
        "<p>You have been invited to open an account.</p>"
        f'<p><a href="{escape(link)}">Accept the invitation and choose your password</a> '
        f"(the link works once, within {valid_days} days).</p>"
        "<p>If you did not expect this invitation, ignore this email: no account is made "
        "unless you accept.</p>"
    )
    return MailMessage(to=to, subject="You are invited to open an account", text=text, html=html)

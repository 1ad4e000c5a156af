"""An account at an upstream OpenID provider linked to a local account, and the rules that say,
at a sign-in through that provider, whose account it opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.email import Email
from domain.user import User

MAX_SUBJECT_LENGTH = 255  # OpenID Connect Core §2: `sub` is at most 255 ASCII characters


@dataclass(slots=True)
class LinkedIdentity:
    """(provider, subject) names the upstream account, for good: its email may change there,
    and is kept here only as it was last seen, to show the person which account is linked."""

    id: UUID
    user_id: UUID
    provider: str
    subject: str
    email: str | None
    created_at: datetime

    def seen_with(self, email: str | None) -> None:
        self.email = email


class Resolution(StrEnum):
    SIGN_IN = "sign_in"  # the linked account, or one linked now by the rules below
    CREATE_ACCOUNT = "create_account"
    LINK_AND_SIGN_IN = "link_and_sign_in"
    SIGN_IN_FIRST = "sign_in_first"  # an account has this email: its owner must link it
    NO_EMAIL = "no_email"  # no link, and nothing to make an account with


@dataclass(frozen=True, slots=True)
class UpstreamClaims:
    """What the provider said of the person, once its ID token was checked."""

    subject: str
    email: Email | None
    email_verified: bool
    name: str | None


def resolve_sign_in(
    linked_user: User | None, same_email: User | None, claims: UpstreamClaims
) -> Resolution:
    """Whose account a sign-in through a provider opens. `linked_user`: the account the
    upstream account is linked to, if any; `same_email`: a local account with the email the
    provider gave, if any.

    An upstream account is found by (provider, subject), never by email alone. Unlinked, it is
    linked to the local account of its email only when both sides vouch for that email (the
    provider says it verified it, and the local account's owner proved it): otherwise anyone who
    can make an account at some provider with a victim's address would walk into the victim's
    account."""
    if linked_user is not None:
        return Resolution.SIGN_IN
    if claims.email is None:
        return Resolution.NO_EMAIL
    if same_email is None:
        return Resolution.CREATE_ACCOUNT
    if claims.email_verified and same_email.is_verified:
        return Resolution.LINK_AND_SIGN_IN
    return Resolution.SIGN_IN_FIRST


class LinkResolution(StrEnum):
    LINK = "link"
    ALREADY_LINKED_HERE = "already_linked_here"
    LINKED_ELSEWHERE = "linked_elsewhere"


def resolve_link(linked_user_id: UUID | None, signed_in_user_id: UUID) -> LinkResolution:
    """A signed-in person links an upstream account from their console: whatever its email, as
    they proved both sides; but never one already linked to another account."""
    if linked_user_id is None:
        return LinkResolution.LINK
    if linked_user_id == signed_in_user_id:
        return LinkResolution.ALREADY_LINKED_HERE
    return LinkResolution.LINKED_ELSEWHERE


def leaves_a_way_in(*, has_password: bool, passkeys: int, other_identities: int) -> bool:
    """Whether an account keeps a way to sign in once one linked identity is gone."""
    return has_password or passkeys > 0 or other_identities > 0

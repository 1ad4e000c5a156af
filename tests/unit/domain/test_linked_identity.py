"""Whose account a sign-in through an upstream provider opens, links, or refuses; and when an
identity may be unlinked."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domain.auth_method import (
    PASSWORD_AND_RECOVERY_CODE,
    PASSWORD_AND_TOTP,
    PASSWORD_ONLY,
    UPSTREAM_ONLY,
    AuthMethod,
    after_second_step,
)
from domain.email import Email
from domain.linked_identity import (
    LinkResolution,
    Resolution,
    UpstreamClaims,
    leaves_a_way_in,
    resolve_link,
    resolve_sign_in,
)
from domain.user import User

NOW = datetime(2026, 12, 3, tzinfo=UTC)
ADA = User.register(
    id=uuid.uuid4(), email=Email.parse("ada@example.com"), password_hash=None, name=None, now=NOW
)
VERIFIED_ADA = replace(ADA, is_verified=True)


def claims(*, email: str | None = "ada@example.com", verified: bool = True) -> UpstreamClaims:
    return UpstreamClaims(
        subject="248289761001",
        email=Email.parse(email) if email else None,
        email_verified=verified,
        name="Ada",
    )


@pytest.mark.parametrize(
    ("linked", "same_email", "said", "expected"),
    [
        (ADA, None, claims(email="ada@new.example.com"), Resolution.SIGN_IN),
        (ADA, VERIFIED_ADA, claims(verified=False), Resolution.SIGN_IN),
        (ADA, None, claims(email=None), Resolution.SIGN_IN),
        (None, None, claims(), Resolution.CREATE_ACCOUNT),
        (None, None, claims(verified=False), Resolution.CREATE_ACCOUNT),
        (None, VERIFIED_ADA, claims(), Resolution.LINK_AND_SIGN_IN),
        (None, VERIFIED_ADA, claims(verified=False), Resolution.SIGN_IN_FIRST),
        (None, ADA, claims(), Resolution.SIGN_IN_FIRST),
        (None, ADA, claims(verified=False), Resolution.SIGN_IN_FIRST),
        (None, None, claims(email=None), Resolution.NO_EMAIL),
    ],
    ids=[
        "linked, its email changed upstream",
        "linked, whatever the emails say",
        "linked, no email at all",
        "new email: a new account",
        "new email, unverified upstream: a new unverified account",
        "both sides verified: linked",
        "unverified upstream: sign in first",
        "unverified here: sign in first",
        "neither verified: sign in first",
        "no link and no email",
    ],
)
def test_the_rules_of_an_upstream_sign_in(
    linked: User | None, same_email: User | None, said: UpstreamClaims, expected: Resolution
) -> None:
    assert resolve_sign_in(linked, same_email, said) is expected


def test_linking_from_the_console() -> None:
    me, someone = uuid.uuid4(), uuid.uuid4()

    assert resolve_link(None, me) is LinkResolution.LINK
    assert resolve_link(me, me) is LinkResolution.ALREADY_LINKED_HERE
    assert resolve_link(someone, me) is LinkResolution.LINKED_ELSEWHERE


@pytest.mark.parametrize(
    ("password", "passkeys", "others", "expected"),
    [
        (True, 0, 0, True),
        (False, 1, 0, True),
        (False, 0, 1, True),
        (False, 0, 0, False),
    ],
)
def test_an_identity_may_be_unlinked_only_while_another_way_in_remains(
    password: bool, passkeys: int, others: int, expected: bool
) -> None:
    assert leaves_a_way_in(has_password=password, passkeys=passkeys, other_identities=others) is (
        expected
    )


def test_a_second_step_after_an_upstream_sign_in_keeps_how_the_first_was_passed() -> None:
    assert after_second_step(UPSTREAM_ONLY, PASSWORD_AND_TOTP) == (
        AuthMethod.FEDERATED,
        AuthMethod.ONE_TIME_PASSWORD,
        AuthMethod.MULTI_FACTOR,
    )
    assert after_second_step(UPSTREAM_ONLY, PASSWORD_AND_RECOVERY_CODE) == (
        AuthMethod.FEDERATED,
        AuthMethod.MULTI_FACTOR,
    )
    assert after_second_step(PASSWORD_ONLY, PASSWORD_AND_TOTP) == PASSWORD_AND_TOTP

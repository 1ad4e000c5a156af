from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.email import Email
from domain.errors import InvalidDisplayName
from domain.role import Role
from domain.user import User, check_display_name

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)


def a_user(*, email: str = "eve@example.com", is_verified: bool = True) -> User:
    user = User.register(
        id=UUID(int=1),
        email=Email.parse(email),
        password_hash="fake$12$secret",
        name="Eve",
        now=T0,
    )
    user.is_verified = is_verified
    return user


@pytest.mark.parametrize("name", ["E", "Eve Smith", "Zoë Ñúñez", "李小龙", "n" * 100])
def test_a_display_name_of_1_to_100_printable_characters_is_kept_as_is(name: str) -> None:
    assert check_display_name(name) == name


def test_no_display_name_is_allowed() -> None:
    assert check_display_name(None) is None


@pytest.mark.parametrize("name", ["", "n" * (101)])
def test_an_empty_or_over_long_display_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidDisplayName):
        check_display_name(name)


@pytest.mark.parametrize("name", ["Eve\x00", "Eve\nSmith", "Eve\tSmith", "\x1b[31mEve", "Eve\x7f"])
def test_a_display_name_with_a_control_character_is_refused(name: str) -> None:
    with pytest.raises(InvalidDisplayName, match="control"):
        check_display_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "Ana\u00a0Mar\u00eda",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "\U0001f469\u200d\U0001f4bb dev",
    ],
)
def test_no_break_spaces_and_joiners_belong_in_real_names(name: str) -> None:
    assert check_display_name(name) == name


@pytest.mark.parametrize("name", ["  ", "\u00a0", "admin\u202eeliA", "a\u2066b", "\ue000"])
def test_blank_names_and_direction_overrides_are_refused(name: str) -> None:
    with pytest.raises(InvalidDisplayName):
        check_display_name(name)


def test_a_registered_user_is_active_unverified_and_a_plain_user_by_default() -> None:
    user = User.register(
        id=UUID(int=1), email=Email.parse("eve@example.com"), password_hash="h", name=None, now=T0
    )
    assert (user.role, user.is_active, user.is_verified) == (Role.USER, True, False)
    assert user.created_at == user.updated_at == T0


def test_registering_checks_the_display_name() -> None:
    with pytest.raises(InvalidDisplayName):
        User.register(
            id=UUID(int=1), email=Email.parse("eve@example.com"), password_hash="h", name="", now=T0
        )


def test_changing_to_a_new_email_clears_verification() -> None:
    user = a_user(is_verified=True)
    user.change_email(Email.parse("eve@new.example.com"), LATER)
    assert user.email == Email.parse("eve@new.example.com")
    assert user.is_verified is False
    assert user.updated_at == LATER


def test_changing_to_the_same_email_in_another_case_keeps_verification() -> None:
    user = a_user(is_verified=True)
    user.change_email(Email.parse("EVE@Example.com"), LATER)
    assert user.is_verified is True
    assert user.updated_at == T0


def test_renaming_sets_or_clears_the_name() -> None:
    user = a_user()
    user.rename("Evelyn", LATER)
    assert (user.name, user.updated_at) == ("Evelyn", LATER)
    user.rename(None, LATER)
    assert user.name is None


def test_renaming_to_an_invalid_name_changes_nothing() -> None:
    user = a_user()
    with pytest.raises(InvalidDisplayName):
        user.rename("Eve\x00", LATER)
    assert (user.name, user.updated_at) == ("Eve", T0)


def test_setting_a_password_hash_touches_updated_at() -> None:
    user = a_user()
    user.set_password_hash("fake$12$other", LATER)
    assert (user.password_hash, user.updated_at) == ("fake$12$other", LATER)

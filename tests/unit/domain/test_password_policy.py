from __future__ import annotations

import pytest

from domain.errors import WeakPassword
from domain.password import PasswordPolicy
from tests.unit.builders import COMMON_PASSWORDS

EMAIL = "eve@example.com"


@pytest.fixture
def policy() -> PasswordPolicy:
    return PasswordPolicy(common_passwords=COMMON_PASSWORDS)


@pytest.mark.parametrize("password", ["x7#Kq2!m", "z" * 256, "correct horse battery staple"])
def test_a_password_of_8_to_256_characters_passes(policy: PasswordPolicy, password: str) -> None:
    policy.check(password, EMAIL)


@pytest.mark.parametrize("password", ["", "x7#Kq2!", "z" * (257)])
def test_a_password_shorter_than_8_or_longer_than_256_characters_is_weak(
    policy: PasswordPolicy, password: str
) -> None:
    with pytest.raises(WeakPassword):
        policy.check(password, EMAIL)


def test_length_counts_characters_not_bytes(policy: PasswordPolicy) -> None:
    policy.check("é" * 8, EMAIL)  # 16 bytes in UTF-8, 8 characters
    policy.check("🔑" * 256, EMAIL)  # 1024 bytes, 256 characters
    with pytest.raises(WeakPassword):
        policy.check("é" * (7), EMAIL)  # 14 bytes, 7 characters


@pytest.mark.parametrize("password", ["password1", "PASSWORD1", "PassWord1", "iLoveYou"])
def test_a_common_password_is_weak_whatever_its_case(policy: PasswordPolicy, password: str) -> None:
    with pytest.raises(WeakPassword, match="common"):
        policy.check(password, EMAIL)


def test_a_password_that_only_contains_a_common_one_passes(policy: PasswordPolicy) -> None:
    policy.check("password1 but longer", EMAIL)


@pytest.mark.parametrize("password", ["eve@example.com", "EVE@Example.COM", " eve@example.com "])
def test_a_password_equal_to_the_email_is_weak(policy: PasswordPolicy, password: str) -> None:
    with pytest.raises(WeakPassword, match="email"):
        policy.check(password, EMAIL)


def test_a_password_equal_to_another_email_passes(policy: PasswordPolicy) -> None:
    policy.check("mallory@example.com", EMAIL)

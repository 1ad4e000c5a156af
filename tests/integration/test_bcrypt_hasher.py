"""The bcrypt adapter: every character of a password counts, and odd input never crashes it."""

from __future__ import annotations

import bcrypt
import pytest

from adapters.security.bcrypt_hasher import BcryptPasswordHasher

ROUNDS = 4  # the lowest cost bcrypt allows: these tests need speed, not strength
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def hasher() -> BcryptPasswordHasher:
    return BcryptPasswordHasher(rounds=ROUNDS)


async def test_a_password_verifies_against_its_own_hash(hasher: BcryptPasswordHasher) -> None:
    password_hash = await hasher.hash(PASSWORD)

    assert await hasher.verify(PASSWORD, password_hash)
    assert not await hasher.verify(PASSWORD + "!", password_hash)
    assert not await hasher.verify(PASSWORD.upper(), password_hash)
    assert not await hasher.verify("", password_hash)


async def test_the_hash_is_a_salted_bcrypt_hash_of_the_configured_cost(
    hasher: BcryptPasswordHasher,
) -> None:
    first = await hasher.hash(PASSWORD)
    second = await hasher.hash(PASSWORD)

    assert first != second  # salted
    assert PASSWORD not in first
    assert first.startswith(f"$2b${ROUNDS:02d}$")
    assert len(first) == 60
    assert await hasher.verify(PASSWORD, second)


@pytest.mark.parametrize(
    ("shared_prefix", "tail_a", "tail_b"),
    [
        pytest.param("a" * 72, "x", "y", id="ascii-differing-at-byte-73"),
        pytest.param("a" * 72, "", "b", id="one-is-exactly-72-bytes"),
        pytest.param("é" * 36, "1", "2", id="two-byte-characters-filling-72-bytes"),
        pytest.param("🦉" * 64, "a", "b", id="256-byte-prefix"),
    ],
)
async def test_passwords_that_differ_only_after_the_72nd_byte_are_different_passwords(
    hasher: BcryptPasswordHasher, shared_prefix: str, tail_a: str, tail_b: str
) -> None:
    password_a, password_b = shared_prefix + tail_a, shared_prefix + tail_b
    assert password_a.encode()[:72] == password_b.encode()[:72]

    hash_a = await hasher.hash(password_a)
    hash_b = await hasher.hash(password_b)

    assert await hasher.verify(password_a, hash_a)
    assert await hasher.verify(password_b, hash_b)
    assert not await hasher.verify(password_b, hash_a)
    assert not await hasher.verify(password_a, hash_b)


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("pässwörd-ñ-日本語-🔐🔐🔐", id="non-ascii"),
        pytest.param("abc\ud800def-long-enough", id="lone-high-surrogate"),
        pytest.param("\udfffabcdefgh", id="lone-low-surrogate"),
        pytest.param("with\x00nul-byte-inside", id="nul-byte"),
        pytest.param("x" * 256, id="longest-allowed"),
    ],
)
async def test_odd_but_valid_passwords_hash_and_verify(
    hasher: BcryptPasswordHasher, password: str
) -> None:
    password_hash = await hasher.hash(password)

    assert await hasher.verify(password, password_hash)
    assert not await hasher.verify(password + " ", password_hash)


async def test_lone_surrogates_are_distinguished_from_each_other(
    hasher: BcryptPasswordHasher,
) -> None:
    password_hash = await hasher.hash("password-\ud800")

    assert not await hasher.verify("password-\ud801", password_hash)
    assert not await hasher.verify("password-", password_hash)


async def test_a_nul_byte_is_not_where_the_password_ends(hasher: BcryptPasswordHasher) -> None:
    password_hash = await hasher.hash("prefix\x00suffix-one")

    assert not await hasher.verify("prefix\x00suffix-two", password_hash)
    assert not await hasher.verify("prefix", password_hash)


async def test_verify_without_a_hash_is_false(hasher: BcryptPasswordHasher) -> None:
    assert await hasher.verify(PASSWORD, None) is False
    assert await hasher.verify(PASSWORD, None) is False  # again, with the dummy hash cached
    assert await hasher.verify("", None) is False


async def test_a_hash_of_another_cost_needs_rehash_and_its_own_does_not(
    hasher: BcryptPasswordHasher,
) -> None:
    own = await hasher.hash(PASSWORD)
    stronger = await BcryptPasswordHasher(rounds=ROUNDS + 1).hash(PASSWORD)

    assert hasher.needs_rehash(own) is False
    assert hasher.needs_rehash(stronger) is True
    assert BcryptPasswordHasher(rounds=ROUNDS + 1).needs_rehash(own) is True
    assert await hasher.verify(PASSWORD, stronger)  # an old hash still logs its owner in


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param("", id="empty"),
        pytest.param("not a hash", id="garbage"),
        pytest.param("$2b$04$tooshort", id="truncated"),
        pytest.param("$2b$04$" + "!" * 53, id="bad-alphabet"),
        pytest.param("$2b$99$" + "a" * 53, id="impossible-cost"),
        pytest.param("$9z$04$" + "a" * 53, id="unknown-variant"),
        pytest.param("$2b$04$" + "é" * 53, id="non-ascii"),
        pytest.param("$2b$04$" + "a" * 52 + "\x00", id="nul-byte"),
        pytest.param("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", id="another-algorithm"),
    ],
)
async def test_a_malformed_stored_hash_verifies_false_without_raising(
    hasher: BcryptPasswordHasher, stored: str
) -> None:
    assert await hasher.verify(PASSWORD, stored) is False
    assert isinstance(hasher.needs_rehash(stored), bool)  # moot, as it never verifies; no crash


async def test_a_plain_bcrypt_hash_of_the_raw_password_is_not_accepted(
    hasher: BcryptPasswordHasher,
) -> None:
    """Hashes are of the pre-hashed password; a bare bcrypt of the text must not match."""
    raw = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(ROUNDS)).decode()

    assert await hasher.verify(PASSWORD, raw) is False

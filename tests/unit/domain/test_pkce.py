from __future__ import annotations

import pytest

from domain.pkce import is_valid_s256_challenge, is_valid_verifier, s256_challenge, verifies_s256

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_the_rfc_example_verifies() -> None:
    assert s256_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    assert verifies_s256(RFC_VERIFIER, RFC_CHALLENGE)


def test_another_verifier_does_not() -> None:
    other = RFC_VERIFIER[:-1] + "Y"
    assert is_valid_verifier(other)
    assert not verifies_s256(other, RFC_CHALLENGE)


def test_the_challenge_itself_is_not_its_verifier() -> None:
    assert not verifies_s256(RFC_CHALLENGE, RFC_CHALLENGE)


@pytest.mark.parametrize(
    "verifier", ["a" * 42, "a" * 129, "a" * 42 + "+", "a" * 42 + "=", "a" * 42 + " "]
)
def test_a_malformed_verifier_never_verifies_even_against_its_own_hash(verifier: str) -> None:
    assert not is_valid_verifier(verifier)
    assert not verifies_s256(verifier, s256_challenge(verifier))


def test_a_verifier_beyond_ascii_is_refused() -> None:
    assert not is_valid_verifier("a" * 42 + "é")
    assert not verifies_s256("a" * 42 + "é", RFC_CHALLENGE)


@pytest.mark.parametrize("length", [43, 128])
def test_verifiers_of_43_to_128_unreserved_characters_are_valid(length: int) -> None:
    verifier = ("aZ09-._~" * 20)[:length]
    assert is_valid_verifier(verifier)
    assert verifies_s256(verifier, s256_challenge(verifier))


def test_a_challenge_in_another_alphabet_or_with_padding_never_matches() -> None:
    assert not verifies_s256(RFC_VERIFIER, RFC_CHALLENGE + "=")
    assert not verifies_s256(RFC_VERIFIER, "é" + RFC_CHALLENGE[1:])


def test_only_an_s256_hash_is_a_valid_challenge() -> None:
    assert is_valid_s256_challenge(RFC_CHALLENGE)
    assert is_valid_s256_challenge(s256_challenge("x" * 43))
    # 43 characters, but the last one's padding bits are set: no hash encodes that way.
    assert not is_valid_s256_challenge(RFC_CHALLENGE[:-1] + "B")
    assert not is_valid_s256_challenge(RFC_CHALLENGE + "=")
    assert not is_valid_s256_challenge(RFC_CHALLENGE[:-1])
    assert not is_valid_s256_challenge(RFC_CHALLENGE[:-1] + "+")
    assert not is_valid_s256_challenge("plain-text-challenge")

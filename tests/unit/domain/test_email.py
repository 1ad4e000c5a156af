from __future__ import annotations

import pytest

from domain.email import Email
from domain.errors import InvalidEmail


def email_of_length(length: int) -> str:
    """A valid address of exactly `length` characters: 64-character local part, long domain."""
    local = "l" * 64
    domain_length = length - len(local) - 1
    labels: list[str] = []
    remaining = domain_length - len(".com")
    while remaining > 0:
        label = min(63, remaining)
        if remaining - label == 1:  # a lone dot would be left over: shorten this label
            label -= 2
        labels.append("d" * label)
        remaining -= label + 1
    address = f"{local}@{'.'.join(labels)}.com"
    assert len(address) == length
    return address


def test_an_email_is_trimmed_and_lower_cased() -> None:
    assert Email.parse("  Eve.Smith@Example.COM \n").value == "eve.smith@example.com"


def test_emails_differing_only_in_case_are_equal() -> None:
    assert Email.parse("EVE@example.com") == Email.parse("eve@EXAMPLE.com")


def test_an_email_reads_as_its_normalised_value() -> None:
    assert str(Email.parse("Eve@Example.com")) == "eve@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "eve+tag@example.com",
        "first.last@sub.example.co.uk",
        "o'brien@example.ie",
        "x@example.io",
        "eve@123.example.com",
    ],
)
def test_ordinary_addresses_are_accepted_unchanged(raw: str) -> None:
    assert Email.parse(raw).value == raw


def test_an_email_of_254_characters_is_accepted() -> None:
    address = email_of_length(254)
    assert Email.parse(address).value == address


def test_an_email_of_255_characters_is_refused() -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(email_of_length(255))


def test_the_length_limit_applies_after_trimming() -> None:
    address = email_of_length(254)
    assert Email.parse(f"   {address}   ").value == address


def test_a_local_part_over_64_characters_is_refused() -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(f"{'l' * 65}@example.com")


@pytest.mark.parametrize(
    "raw",
    ["Eve <eve@example.com>", "Eve<eve@example.com>", "<eve@example.com>", '"Eve" eve@example.com'],
)
def test_the_display_name_form_is_not_an_email(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "eve\x00@example.com",
        "eve@exam\x07ple.com",
        "eve\x7f@example.com",
        "eve@example.com\x00",
        "eve\u202e@example.com",  # right-to-left override
        "eve@example\u200b.com",  # zero-width space
    ],
)
def test_an_email_with_a_control_character_is_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(raw)


@pytest.mark.parametrize(
    "raw",
    ["eve smith@example.com", "eve@example .com", "eve\t@example.com", "eve@\u00a0example.com"],
)
def test_an_email_with_an_inner_space_is_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(raw)


@pytest.mark.parametrize("raw", ["", "   ", "eve.example.com", "@example.com", "eve@"])
def test_an_email_needs_a_local_part_an_at_sign_and_a_domain(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(raw)


@pytest.mark.parametrize(
    "raw",
    [
        ".eve@example.com",
        "eve.@example.com",
        "e..ve@example.com",
        '"eve"@example.com',
        "e(ve)@example.com",
        "a@b@example.com",
    ],
)
def test_a_malformed_local_part_is_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "eve@localhost",
        "eve@-example.com",
        "eve@example-.com",
        "eve@exa_mple.com",
        "eve@example..com",
        "eve@.example.com",
        "eve@example.com.",
        f"eve@{'d' * 64}.com",
        "eve@[192.0.2.1]",
    ],
)
def test_a_domain_with_a_bad_label_is_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(raw)


def test_a_domain_label_of_63_characters_is_accepted() -> None:
    assert Email.parse(f"eve@{'d' * 63}.com").value == f"eve@{'d' * 63}.com"


@pytest.mark.parametrize("raw", ["eve@example.123", "eve@192.0.2.1"])
def test_a_numeric_top_level_domain_is_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(raw)


@pytest.mark.parametrize("raw", ["eve@bücher.de", "eve@例子.广告", "eve@пример.рф"])
def test_an_internationalised_domain_is_accepted_as_written(raw: str) -> None:
    assert Email.parse(raw).value == raw


def test_an_internationalised_domain_is_lower_cased_too() -> None:
    assert Email.parse("Eve@BÜCHER.DE").value == "eve@bücher.de"


def test_an_internationalised_label_too_long_once_encoded_is_refused() -> None:
    # 60 characters, but well over 63 in its ASCII (punycode) form.
    with pytest.raises(InvalidEmail):
        Email.parse(f"eve@{'ü' * 60}.de")


def test_a_non_ascii_local_part_is_refused() -> None:
    with pytest.raises(InvalidEmail):
        Email.parse("zoë@example.com")


@pytest.mark.parametrize(
    ("look_alike", "canonical"),
    [
        ("eve@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "eve@example.com"),
        ("eve@example\uff0ecom", "eve@example.com"),
        ("eve@example\u3002com", "eve@example.com"),
        ("eve@bu\u0308cher.de", "eve@b\u00fccher.de"),
        ("eve@xn--bcher-kva.de", "eve@b\u00fccher.de"),
        ("eve@xn--strae-oqa.de", "eve@stra\u00dfe.de"),
    ],
)
def test_look_alike_spellings_of_a_domain_are_one_email(look_alike: str, canonical: str) -> None:
    assert Email.parse(look_alike) == Email.parse(canonical)
    assert Email.parse(look_alike).value == canonical


def test_strasse_and_strasse_with_eszett_stay_different_domains() -> None:
    assert Email.parse("eve@stra\u00dfe.de") != Email.parse("eve@strasse.de")


@pytest.mark.parametrize(
    "raw", ["eve@example.com\x1f", "\x1ceve@example.com", "eve@exa\u200bmple.com"]
)
def test_control_and_format_characters_are_refused_even_at_the_edges(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(raw)


def test_a_broken_punycode_label_is_refused() -> None:
    with pytest.raises(InvalidEmail):
        Email.parse("eve@xn--.com")

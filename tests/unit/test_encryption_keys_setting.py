"""PORTCULLIS_ENCRYPTION_KEYS: comma-separated keys of 32 bytes in base64url, padding optional;
a bad one stops start-up with a message that names the variable and never repeats a key."""

from __future__ import annotations

import base64

import pytest

from entrypoints.settings import ConfigurationError, load_settings

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))


def encoded(key: bytes, *, padded: bool = True) -> str:
    text = base64.urlsafe_b64encode(key).decode()
    return text if padded else text.rstrip("=")


def test_keys_are_read_in_order_with_or_without_padding() -> None:
    settings = load_settings(encryption_keys=f"{encoded(KEY_A, padded=False)}, {encoded(KEY_B)}")

    assert settings.encryption_key_bytes == (KEY_A, KEY_B)


def test_unset_or_empty_means_no_keys() -> None:
    assert load_settings().encryption_key_bytes == ()
    assert load_settings(encryption_keys="").encryption_key_bytes == ()


def test_the_keys_never_show_in_the_settings_repr() -> None:
    settings = load_settings(encryption_keys=encoded(KEY_A))

    assert encoded(KEY_A, padded=False) not in repr(settings)


@pytest.mark.parametrize(
    "value",
    [
        encoded(KEY_A[:31]),  # too short
        encoded(KEY_A + b"x"),  # too long
        base64.b64encode(bytes([251] * 32)).decode(),  # standard base64, not base64url
        encoded(KEY_A) + ",",  # an empty second key
        "not a key at all",
    ],
)
def test_a_bad_key_is_one_message_naming_the_variable_and_not_the_value(value: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_settings(encryption_keys=value)

    message = str(refused.value)
    assert message.startswith("PORTCULLIS_ENCRYPTION_KEYS: ")
    assert len(message.splitlines()) == 1
    for part in value.split(","):
        if part:
            assert part not in message

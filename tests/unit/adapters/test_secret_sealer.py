"""Secrets sealed at rest: what one key seals, the configured keys open, only in its own context;
without keys, secrets pass through as they are and a sealed value is refused."""

from __future__ import annotations

import base64
import string

import pytest

from adapters.security.secret_sealer import (
    SEALED_PREFIX,
    AesGcmSecretSealer,
    PlainSecretSealer,
    key_id,
    make_secret_sealer,
    sealed_key_id,
)
from application.ports.security import SecretUnreadable

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
PEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----\n"
CONTEXT = "signing_key:k1"


def test_a_sealed_secret_opens_back_to_itself_and_shows_nothing_of_it() -> None:
    sealer = AesGcmSecretSealer([KEY_A])

    stored = sealer.seal(PEM, CONTEXT)

    assert stored.startswith(f"{SEALED_PREFIX}{key_id(KEY_A)}:")
    assert "PRIVATE KEY" not in stored
    assert sealer.open(stored, CONTEXT) == PEM


def test_sealing_twice_gives_two_different_values() -> None:
    sealer = AesGcmSecretSealer([KEY_A])

    assert sealer.seal("JBSWY3DPEHPK3PXP", "totp:u") != sealer.seal("JBSWY3DPEHPK3PXP", "totp:u")


def test_the_first_key_seals_and_every_key_opens() -> None:
    old = AesGcmSecretSealer([KEY_B])
    sealed_under_b = old.seal(PEM, CONTEXT)
    both = AesGcmSecretSealer([KEY_A, KEY_B])

    assert sealed_key_id(both.seal(PEM, CONTEXT)) == key_id(KEY_A)
    assert both.primary_key_id == key_id(KEY_A)
    assert both.open(sealed_under_b, CONTEXT) == PEM


def test_a_value_moved_to_another_row_does_not_open() -> None:
    sealer = AesGcmSecretSealer([KEY_A])
    stored = sealer.seal("JBSWY3DPEHPK3PXP", "totp:11111111-1111-1111-1111-111111111111")

    with pytest.raises(SecretUnreadable):
        sealer.open(stored, "totp:22222222-2222-2222-2222-222222222222")


BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


@pytest.mark.parametrize("position", [-1, -20, len(SEALED_PREFIX) + 12])
def test_a_tampered_value_does_not_open(position: int) -> None:
    sealer = AesGcmSecretSealer([KEY_A])
    stored = sealer.seal(PEM, CONTEXT)
    # The top bit of a base64url character always carries data; the low bits of the last one
    # may be padding that decoding drops.
    flipped = BASE64URL[BASE64URL.index(stored[position]) ^ 0b100000]

    tampered = stored[:position] + flipped + stored[position:][1:]

    with pytest.raises(SecretUnreadable):
        sealer.open(tampered, CONTEXT)


def test_a_truncated_value_does_not_open() -> None:
    sealer = AesGcmSecretSealer([KEY_A])
    stored = sealer.seal(PEM, CONTEXT)

    for cut in (len(SEALED_PREFIX) + 8, len(SEALED_PREFIX) + 9, len(SEALED_PREFIX) + 20):
        with pytest.raises(SecretUnreadable):
            sealer.open(stored[:cut], CONTEXT)


def test_a_value_sealed_under_a_key_no_longer_configured_is_refused_by_key_id() -> None:
    stored = AesGcmSecretSealer([KEY_B]).seal(PEM, CONTEXT)

    with pytest.raises(SecretUnreadable) as refused:
        AesGcmSecretSealer([KEY_A]).open(stored, CONTEXT)

    assert refused.value.key_id == key_id(KEY_B)
    assert key_id(KEY_B) in str(refused.value)


def test_a_wrong_key_with_a_forged_key_id_fails_authentication() -> None:
    stored = AesGcmSecretSealer([KEY_B]).seal(PEM, CONTEXT)
    forged = stored.replace(key_id(KEY_B), key_id(KEY_A), 1)

    with pytest.raises(SecretUnreadable, match="does not open"):
        AesGcmSecretSealer([KEY_A]).open(forged, CONTEXT)


def test_the_refusal_names_no_secret_and_no_key() -> None:
    stored = AesGcmSecretSealer([KEY_B]).seal(PEM, CONTEXT)

    for sealer in (AesGcmSecretSealer([KEY_A]), PlainSecretSealer()):
        with pytest.raises(SecretUnreadable) as refused:
            sealer.open(stored, CONTEXT)
        message = str(refused.value)
        assert "PRIVATE" not in message
        assert stored[len(SEALED_PREFIX) + 9 :] not in message
        for key in (KEY_A, KEY_B):
            assert base64.urlsafe_b64encode(key).decode().rstrip("=") not in message


def test_a_plain_value_stored_before_the_keys_were_set_is_read_as_it_is() -> None:
    assert AesGcmSecretSealer([KEY_A]).open(PEM, CONTEXT) == PEM


def test_without_keys_secrets_pass_through_as_they_are() -> None:
    sealer = make_secret_sealer(())

    assert isinstance(sealer, PlainSecretSealer)
    assert sealer.seal(PEM, CONTEXT) == PEM
    assert sealer.open(PEM, CONTEXT) == PEM


def test_without_keys_a_sealed_value_is_refused() -> None:
    stored = AesGcmSecretSealer([KEY_A]).seal(PEM, CONTEXT)

    with pytest.raises(SecretUnreadable, match="no encryption key is configured"):
        PlainSecretSealer().open(stored, CONTEXT)


def test_key_ids_are_short_distinct_and_not_the_key() -> None:
    assert len(key_id(KEY_A)) == 8
    assert key_id(KEY_A) != key_id(KEY_B)
    assert key_id(KEY_A) not in base64.urlsafe_b64encode(KEY_A).decode()


def test_a_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        AesGcmSecretSealer([b"short"])

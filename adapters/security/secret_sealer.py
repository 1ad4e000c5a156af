"""Secrets sealed at rest with AES-256-GCM, or stored as they are when no key is configured.

A sealed value reads `sealed:v1:<key id>:<base64url(nonce || ciphertext || tag)>`:
- the key id is the first 6 bytes of SHA-256 over a label and the key, in base64url (8
  characters), so the stored value names its key without holding anything of it;
- the nonce is 12 random bytes, new for each value;
- the associated data is the context (the secret's purpose and row, UTF-8), so a value opens
  only in the row it was sealed for.
Nothing that a plaintext secret looks like (a PEM block, a base32 TOTP secret) starts with the
prefix, which is how values stored before the keys were set are still read, as they are."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from application.ports.security import SecretSealer, SecretUnreadable

SEALED_PREFIX = "sealed:v1:"
KEY_BYTES = 32
KEY_ID_LENGTH = 8  # characters: base64url of 6 bytes, never padded
NONCE_BYTES = 12
_KEY_ID_LABEL = b"portcullis secret sealer key id\x00"


def key_id(key: bytes) -> str:
    digest = hashlib.sha256(_KEY_ID_LABEL + key).digest()
    return base64.urlsafe_b64encode(digest[:6]).decode("ascii")


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def sealed_key_id(stored: str) -> str | None:
    """The key id a sealed value names; None for a value stored as it is."""
    if not is_sealed(stored):
        return None
    return stored[len(SEALED_PREFIX) : len(SEALED_PREFIX) + KEY_ID_LENGTH]


def sealed_head_length() -> int:
    """How many leading characters of a sealed value name its key: the prefix and the key id."""
    return len(SEALED_PREFIX) + KEY_ID_LENGTH


class PlainSecretSealer:
    """No encryption key configured: secrets are stored as they are. A sealed value met then is
    refused, never handed on as if it were the secret."""

    key_ids: tuple[str, ...] = ()
    primary_key_id: str | None = None

    def seal(self, plaintext: str, context: str) -> str:  # noqa: ARG002 - the port's signature
        return plaintext

    def open(self, stored: str, context: str) -> str:  # noqa: ARG002 - the port's signature
        if is_sealed(stored):
            raise SecretUnreadable(
                f"a value is sealed under key id {sealed_key_id(stored)}, "
                "but no encryption key is configured",
                key_id=sealed_key_id(stored),
            )
        return stored


class AesGcmSecretSealer:
    """Seals under the first key; opens under whichever configured key the value names."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed; without keys use PlainSecretSealer")
        if any(len(key) != KEY_BYTES for key in keys):
            raise ValueError(f"each key must be {KEY_BYTES} bytes")
        self._ciphers: dict[str, list[AESGCM]] = {}
        for key in keys:
            self._ciphers.setdefault(key_id(key), []).append(AESGCM(key))
        self.primary_key_id = key_id(keys[0])
        self._primary = AESGCM(keys[0])
        self.key_ids = tuple(self._ciphers)

    def seal(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._primary.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        payload = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{SEALED_PREFIX}{self.primary_key_id}:{payload}"

    def open(self, stored: str, context: str) -> str:
        kid = sealed_key_id(stored)
        if kid is None:
            return stored  # stored before the keys were set; `secrets reencrypt` seals it
        ciphers = self._ciphers.get(kid)
        if ciphers is None:
            raise SecretUnreadable(
                f"a value is sealed under key id {kid}, which none of the configured keys has",
                key_id=kid,
            )
        rest = stored[sealed_head_length() :]
        if not rest.startswith(":"):
            raise SecretUnreadable(f"a value sealed under key id {kid} is malformed", key_id=kid)
        try:
            raw = base64.urlsafe_b64decode(rest[1:] + "=" * (-len(rest[1:]) % 4))
        except (binascii.Error, ValueError):
            raise SecretUnreadable(
                f"a value sealed under key id {kid} is malformed", key_id=kid
            ) from None
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        for cipher in ciphers:  # two keys share an id only by a 1 in 2^48 chance; try both
            try:
                plaintext = cipher.decrypt(nonce, sealed, context.encode("utf-8"))
            except (InvalidTag, ValueError):
                continue
            return plaintext.decode("utf-8")
        raise SecretUnreadable(
            f"a value sealed under key id {kid} does not open: the key is wrong, or the value "
            "was altered or belongs to another row",
            key_id=kid,
        )


def make_secret_sealer(keys: Sequence[bytes]) -> AesGcmSecretSealer | PlainSecretSealer:
    return AesGcmSecretSealer(keys) if keys else PlainSecretSealer()


if TYPE_CHECKING:  # mypy fails here the moment either class stops being a SecretSealer
    _plain: type[SecretSealer] = PlainSecretSealer
    _aes_gcm: type[SecretSealer] = AesGcmSecretSealer

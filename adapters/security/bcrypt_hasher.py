"""bcrypt, off the event loop, over a SHA-256 pre-hash so every byte of a password counts."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets

import bcrypt


def _prehash(password: str) -> bytes:
    # bcrypt reads only 72 bytes. Base64 of a SHA-256 digest is 44 bytes with no NUL,
    # so two passwords differing after byte 72 stay different. surrogatepass keeps
    # odd-but-valid JSON strings (lone surrogates) hashable instead of crashing.
    digest = hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest()
    return base64.b64encode(digest)


class BcryptPasswordHasher:
    def __init__(self, rounds: int) -> None:
        self._rounds = rounds
        self._dummy_hash: bytes | None = None

    async def prepare(self) -> None:
        """Make the hash an unknown email is checked against. Called before serving, so the
        very first unknown-email login costs one hash like every later one, not two."""
        await self._dummy()

    async def _dummy(self) -> bytes:
        if self._dummy_hash is None:
            made = await asyncio.to_thread(self._hash_sync, secrets.token_urlsafe(16))
            self._dummy_hash = made.encode("ascii")
        return self._dummy_hash

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash_sync, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        if password_hash is None:
            dummy = await self._dummy()
            # Same work as a real check, so an unknown email is not told apart by timing.
            await asyncio.to_thread(bcrypt.checkpw, _prehash(password), dummy)
            return False
        return await asyncio.to_thread(self._verify_sync, password, password_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        return _cost_of(password_hash) != self._rounds

    def _hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(self._rounds)).decode("ascii")

    @staticmethod
    def _verify_sync(password: str, password_hash: str) -> bool:
        try:
            return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
        except ValueError:
            return False


def _cost_of(password_hash: str) -> int | None:
    # "$2b$12$<salt+hash>"
    parts = password_hash.split("$")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    return int(parts[2])

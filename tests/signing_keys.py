"""Signing keys for tests that make many: the HTTP tests' apps, the key-ring contract tests.

Each start on an empty database makes a key of every algorithm, and an RSA-3072 key takes
0.1 to 0.5 s of CPU to generate: for the hundreds of apps the HTTP tests start, that was minutes.
`ReusedKeyMaterial` makes each algorithm's key pair once per process with the real factory and
hands out a new signing key (a new kid) over that material every time, so keys are as real as
in production and every database still gets keys of its own. The real factory's keys are tested
where keys themselves are the subject."""

from __future__ import annotations

import secrets
from datetime import datetime

from dependency_injector import providers

from adapters.security.signing_key_factory import CryptographySigningKeyFactory
from domain.signing_key import SigningKey
from entrypoints.container import Container


class ReusedKeyMaterial:
    def __init__(self) -> None:
        self._factory = CryptographySigningKeyFactory()
        self._made: dict[str, SigningKey] = {}

    def generate(self, algorithm: str, now: datetime) -> SigningKey:
        made = self._made.get(algorithm)
        if made is None:
            made = self._made[algorithm] = self._factory.generate(algorithm, now)
        kid = secrets.token_urlsafe(16)
        return SigningKey(
            kid=kid,
            algorithm=algorithm,
            private_key_pem=made.private_key_pem,
            public_jwk={**made.public_jwk, "kid": kid},
            created_at=now,
        )


REUSED_KEY_MATERIAL = ReusedKeyMaterial()


def with_reused_key_material(container: Container) -> Container:
    container.signing_key_factory.override(providers.Object(REUSED_KEY_MATERIAL))
    return container

"""Fresh asymmetric key pairs for signing access tokens."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from domain.signing_key import SigningKey

RSA_KEY_BITS = 3072


class CryptographySigningKeyFactory:
    def generate(self, algorithm: str, now: datetime) -> SigningKey:
        private_key: Any
        if algorithm == "ES256":
            private_key = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        elif algorithm == "EdDSA":
            private_key = ed25519.Ed25519PrivateKey.generate()
            jwk = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        elif algorithm == "RS256":
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
            jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        else:
            raise ValueError(f"unsupported signing algorithm {algorithm!r}")
        kid = secrets.token_urlsafe(16)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        public_jwk = {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}
        return SigningKey(
            kid=kid,
            algorithm=algorithm,
            private_key_pem=pem,
            public_jwk=public_jwk,
            created_at=now,
        )

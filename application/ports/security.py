"""Ports to the cryptography: password hashing, the API's access tokens, the OpenID provider's
tokens, and secrets sealed at rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.oidc_tokens import IdTokenClaims, IdTokenHint, OAuthAccessTokenClaims
from domain.auth_method import AuthMethods
from domain.oauth_client import IdTokenAlgorithm
from domain.role import Role
from domain.signing_key import SigningKey


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Check a password. With no hash, spend the same work and return False."""

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the configured ones."""


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    subject: UUID
    session_id: UUID
    token_id: UUID
    role: Role
    issued_at: datetime
    expires_at: datetime
    amr: AuthMethods  # the session's: how it was opened


class AccessTokens(Protocol):
    async def issue(self, claims: AccessTokenClaims) -> str: ...

    async def verify(self, token: str) -> AccessTokenClaims:
        """Return the claims of a well-signed, unexpired token; else raise InvalidAccessToken."""

    async def public_jwks(self) -> list[dict[str, Any]]:
        """The public keys that may have signed a still-valid token."""


class IdTokens(Protocol):
    async def sign(self, claims: IdTokenClaims, algorithm: IdTokenAlgorithm) -> str:
        """An ID token, signed with the active key of the client's registered algorithm."""

    async def verify_hint(self, token: str) -> IdTokenHint | None:
        """What an ID token issued here names, if its signature and issuer check out: expired
        or not, since a hint at logout is often an old token (OpenID Connect RP-Initiated
        Logout 1.0 §2). None for anything else."""


class OAuthAccessTokens(Protocol):
    """Access tokens for clients (RFC 9068), which the API refuses and userinfo accepts."""

    async def issue(self, claims: OAuthAccessTokenClaims) -> str: ...

    async def verify(self, token: str) -> OAuthAccessTokenClaims:
        """The claims of a well-signed, unexpired token; else raise InvalidAccessToken."""


class SigningKeyFactory(Protocol):
    def generate(self, algorithm: str, now: datetime) -> SigningKey: ...


class TotpAuthenticator(Protocol):
    """RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps."""

    def new_secret(self) -> str:
        """A random secret of at least 160 bits, in base32 (upper case, no padding)."""

    def matching_step(self, secret: str, code: str, at: datetime) -> int | None:
        """The time step, within one step of drift either way, whose code this is; else None."""

    def provisioning_uri(self, secret: str, account: str) -> str:
        """The otpauth:// URI an app scans to learn the secret."""


class QrCodes(Protocol):
    def svg(self, text: str) -> str:
        """An SVG image of the QR code of `text`, to put inline in a page or a JSON answer."""


@dataclass(frozen=True, slots=True)
class CeremonyOptions:
    """What the browser gets (the options' WebAuthn JSON form) and what the service keeps."""

    challenge: bytes
    public_key: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ExistingCredential:
    credential_id: bytes
    transports: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VerifiedRegistration:
    credential_id: bytes
    public_key: bytes
    sign_count: int
    backed_up: bool
    transports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PresentedAssertion:
    """What an assertion claims before it is verified: which credential, for whom."""

    credential_id: bytes
    user_handle: bytes | None


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    sign_count: int
    backed_up: bool


class PasskeyRefused(Exception):
    """A registration or an assertion that does not verify, or is not even well-formed."""


class WebAuthn(Protocol):
    """The relying party's side of the WebAuthn ceremonies, for one RP ID and origin. User
    verification is always required. Verification checks challenge, origin, RP ID, flags and
    signature; it leaves the signature counter to the caller, who knows what was stored."""

    def registration_options(
        self,
        *,
        user_handle: bytes,
        user_name: str,
        display_name: str,
        exclude: list[ExistingCredential],
    ) -> CeremonyOptions:
        """Options for a discoverable credential (resident key required)."""

    def verify_registration(
        self, credential: dict[str, Any], challenge: bytes
    ) -> VerifiedRegistration:
        """Raises PasskeyRefused."""

    def authentication_options(self) -> CeremonyOptions:
        """Options with no allowed credentials listed: any passkey of this RP may answer."""

    def read_assertion(self, credential: dict[str, Any]) -> PresentedAssertion:
        """Raises PasskeyRefused for a credential that is not an assertion's JSON."""

    def verify_authentication(
        self, credential: dict[str, Any], challenge: bytes, public_key: bytes
    ) -> VerifiedAssertion:
        """Raises PasskeyRefused."""


class SecretSealer(Protocol):
    """Keeps a secret (a private key, a TOTP secret) unreadable at rest.

    `context` names the secret's purpose and row (see adapters/persistence/secret_contexts.py):
    a sealed value opens only under the context it was sealed with, so a value copied into
    another row does not open there. Without encryption keys configured, sealing stores the
    plaintext as it is."""

    def seal(self, plaintext: str, context: str) -> str: ...

    def open(self, stored: str, context: str) -> str:
        """The plaintext of a stored value (a plaintext stored as it is comes back as it is);
        SecretUnreadable when a sealed value cannot be opened with the configured keys."""


class SecretUnreadable(Exception):
    """A sealed value that the configured keys cannot open. The message names the key id (a
    digest, not the key) and never the value."""

    def __init__(self, message: str, key_id: str | None = None) -> None:
        super().__init__(message)
        self.key_id = key_id

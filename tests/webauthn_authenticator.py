"""A software WebAuthn authenticator, with its client: what a browser and a passkey would answer.

It reads the options a relying party sends (the JSON that py_webauthn's `options_to_json` emits)
and returns the `PublicKeyCredential.toJSON()` forms a browser posts back. Its attestation is
"none", so nothing vouches for it beyond its own signatures: that is what the service will accept.
Only the byte layouts of the WebAuthn spec are assembled here; keys and signatures come from
`cryptography`, the COSE keys and attestation objects from `cbor2`.

By default it behaves as a real authenticator: it refuses a registration that `excludeCredentials`
names, and an operation whose requirements (`userVerification`, `residentKey`, the attachment, the
algorithms) it cannot meet. An attacker does not run an honest one: set `rogue` to make it ignore
those rules, and use the knobs of `register` and `authenticate` to sign for another rp id, tamper
a signature, present another user's handle, or `replay` an assertion.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

# COSE algorithm identifiers (IANA), as pubKeyCredParams names them.
ES256 = -7
EDDSA = -8

# Authenticator data flags (WebAuthn §6.1).
_USER_PRESENT = 0x01
_USER_VERIFIED = 0x04
_BACKUP_ELIGIBLE = 0x08
_BACKED_UP = 0x10
_ATTESTED_CREDENTIAL_DATA = 0x40

# With "none" attestation the AAGUID says nothing about the model, so it is all zeros.
_AAGUID = bytes(16)

Json = dict[str, Any]
Attachment = Literal["platform", "cross-platform"]
_PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class AuthenticatorRefused(Exception):
    """The authenticator (or its client) declined the ceremony, as a browser's promise rejects."""


class CredentialExcluded(AuthenticatorRefused):
    """It already holds a credential that `excludeCredentials` names (InvalidStateError)."""


class NoCredential(AuthenticatorRefused):
    """It holds no credential the request allows, or cannot tell which one the user would pick."""


class UserNotVerified(AuthenticatorRefused):
    """The options require user verification, and the user was not verified."""


class Unsupported(AuthenticatorRefused):
    """The options ask for something it cannot do: an algorithm, a resident key, an attachment."""


def b64url(data: bytes) -> str:
    """Base64url without padding, as WebAuthn's JSON encodes bytes."""
    return urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    """One key pair the authenticator holds, scoped to a relying party."""

    id: bytes
    rp_id: str
    user_handle: bytes
    private_key: _PrivateKey
    discoverable: bool
    backed_up: bool
    sign_count: int = 0
    # False keeps the counter at 0 for good, as synced passkeys do.
    counting: bool = True

    def cose_public_key(self) -> bytes:
        """The public key as a COSE_Key map (RFC 9053), keys -1..-3 being curve and coordinates."""
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            raw = self.private_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            return cbor2.dumps({1: 1, 3: EDDSA, -1: 6, -2: raw}, canonical=True)
        numbers = self.private_key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: ES256, -1: 1, -2: x, -3: y}, canonical=True)

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            return self.private_key.sign(data)
        return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))


class SoftwareAuthenticator:
    """Holds credentials and answers registration and authentication options with their JSON.

    `algorithms` are the COSE algorithms it can make keys for, in its order of preference: it takes
    the first the relying party lists in `pubKeyCredParams` that it supports.
    """

    def __init__(
        self,
        *,
        algorithms: tuple[int, ...] = (ES256,),
        attachment: Attachment = "platform",
        resident_keys: bool = True,
        rogue: bool = False,
    ) -> None:
        unknown = set(algorithms) - {ES256, EDDSA}
        if not algorithms or unknown:
            raise ValueError(f"supported algorithms are ES256 (-7) and EdDSA (-8), not {unknown}")
        self.algorithms = algorithms
        self.attachment = attachment
        self.resident_keys = resident_keys
        self.rogue = rogue
        self.credentials: list[Credential] = []
        self._last_assertion: Json | None = None

    # --- registration: navigator.credentials.create() ----------------------------------------

    def register(
        self,
        options_json: Json,
        origin: str,
        *,
        user_verified: bool = True,
        backed_up: bool = False,
        sign_count: int = 0,
        counting: bool = True,
        rp_id: str | None = None,
    ) -> Json:
        """Make a credential for `options_json` (PublicKeyCredentialCreationOptionsJSON).

        `user_verified` is what the UV flag says; `backed_up` sets both backup flags (BE and BS),
        as a synced passkey has them; `sign_count` and `counting` set its signature counter.
        `rp_id`, when given, is hashed into the authenticator data in place of the options' one.
        """
        options_rp_id = options_json["rp"].get("id") or _host(origin)
        selection: Json = options_json.get("authenticatorSelection", {})
        self._check_attachment(selection.get("authenticatorAttachment"))
        self._check_user_verification(selection.get("userVerification"), user_verified)

        excluded = {b64url_decode(d["id"]) for d in options_json.get("excludeCredentials", [])}
        if not self.rogue and any(
            c.id in excluded and c.rp_id == options_rp_id for c in self.credentials
        ):
            raise CredentialExcluded("this authenticator already holds an excluded credential")

        credential = Credential(
            id=secrets.token_bytes(32),
            rp_id=options_rp_id,
            user_handle=b64url_decode(options_json["user"]["id"]),
            private_key=self._new_key(options_json["pubKeyCredParams"]),
            discoverable=self._discoverable(selection),
            backed_up=backed_up,
            sign_count=sign_count,
            counting=counting,
        )
        # A discoverable credential replaces the one it held for the same account (CTAP 2.1 §6.1.2).
        self.credentials = [
            c
            for c in self.credentials
            if not (
                credential.discoverable
                and c.discoverable
                and (c.rp_id, c.user_handle) == (credential.rp_id, credential.user_handle)
            )
        ]
        self.credentials.append(credential)

        flags = (
            _USER_PRESENT
            | _ATTESTED_CREDENTIAL_DATA
            | self._uv_and_backup_flags(credential, user_verified)
        )
        attested_credential_data = (
            _AAGUID
            + struct.pack(">H", len(credential.id))
            + credential.id
            + credential.cose_public_key()
        )
        authenticator_data = (
            _rp_id_hash(rp_id or options_rp_id)
            + struct.pack(">BI", flags, credential.sign_count)
            + attested_credential_data
        )
        attestation_object = cbor2.dumps(
            {"fmt": "none", "attStmt": {}, "authData": authenticator_data}
        )
        client_data = _client_data("webauthn.create", options_json["challenge"], origin)
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation_object),
                "transports": self._transports(),
            },
            "authenticatorAttachment": self.attachment,
            "clientExtensionResults": {},
        }

    # --- authentication: navigator.credentials.get() -----------------------------------------

    def authenticate(
        self,
        options_json: Json,
        origin: str,
        *,
        user_verified: bool = True,
        credential_id: bytes | None = None,
        rp_id: str | None = None,
        user_handle: bytes | None = None,
        tamper_signature: bool = False,
    ) -> Json:
        """Sign an assertion for `options_json` (PublicKeyCredentialRequestOptionsJSON).

        The credential is one of `allowCredentials`, or with none listed a discoverable one for
        the rp; `credential_id` picks it as the user would. Each use advances its counter.
        Attacker knobs: `rp_id` hashes another rp id into the authenticator data, `user_handle`
        presents that handle instead of the credential's, `tamper_signature` corrupts the
        signature after signing.
        """
        options_rp_id = options_json.get("rpId") or _host(origin)
        self._check_user_verification(options_json.get("userVerification"), user_verified)
        credential = self._choose(options_json, options_rp_id, credential_id)

        if credential.counting:
            credential.sign_count += 1
        flags = _USER_PRESENT | self._uv_and_backup_flags(credential, user_verified)
        authenticator_data = _rp_id_hash(rp_id or options_rp_id) + struct.pack(
            ">BI", flags, credential.sign_count
        )
        client_data = _client_data("webauthn.get", options_json["challenge"], origin)
        signature = credential.sign(authenticator_data + hashlib.sha256(client_data).digest())
        if tamper_signature:
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])

        # Only a discoverable credential stores the user handle (WebAuthn §5.4.3).
        handle = user_handle or (credential.user_handle if credential.discoverable else None)
        assertion: Json = {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(authenticator_data),
                "signature": b64url(signature),
                "userHandle": None if handle is None else b64url(handle),
            },
            "authenticatorAttachment": self.attachment,
            "clientExtensionResults": {},
        }
        self._last_assertion = copy.deepcopy(assertion)
        return assertion

    def replay(self) -> Json:
        """The last assertion again, byte for byte, as an attacker who captured it would send."""
        if self._last_assertion is None:
            raise NoCredential("no assertion has been made yet")
        return copy.deepcopy(self._last_assertion)

    # --- the credentials it holds -------------------------------------------------------------

    def credential(self, credential_id: bytes) -> Credential:
        for credential in self.credentials:
            if credential.id == credential_id:
                return credential
        raise NoCredential("this authenticator holds no such credential")

    def set_sign_count(self, credential_id: bytes, value: int, *, counting: bool = True) -> None:
        """Force a credential's counter, e.g. below what the relying party last saw.

        `counting=False` then keeps it there, as a synced passkey keeps 0.
        """
        credential = self.credential(credential_id)
        credential.sign_count = value
        credential.counting = counting

    # --- the rules a real authenticator and its client follow ---------------------------------

    def _new_key(self, params: list[Json]) -> _PrivateKey:
        wanted = [p["alg"] for p in params if p.get("type") == "public-key"]
        for alg in self.algorithms:
            if alg in wanted:
                if alg == EDDSA:
                    return ed25519.Ed25519PrivateKey.generate()
                return ec.generate_private_key(ec.SECP256R1())
        raise Unsupported(f"none of the algorithms {wanted} is supported")

    def _discoverable(self, selection: Json) -> bool:
        # Level 1 relying parties only send requireResidentKey; absent both, it is "discouraged".
        requirement = selection.get("residentKey") or (
            "required" if selection.get("requireResidentKey") else "discouraged"
        )
        if requirement == "required" and not self.resident_keys and not self.rogue:
            raise Unsupported("a resident key is required; this authenticator cannot store one")
        return self.resident_keys and requirement in ("required", "preferred")

    def _check_user_verification(self, requirement: str | None, user_verified: bool) -> None:
        if requirement == "required" and not user_verified and not self.rogue:
            raise UserNotVerified("user verification is required and did not happen")

    def _check_attachment(self, requirement: str | None) -> None:
        if requirement not in (None, self.attachment) and not self.rogue:
            raise Unsupported(f"a {requirement} authenticator is required")

    def _choose(self, options_json: Json, rp_id: str, credential_id: bytes | None) -> Credential:
        allowed = {b64url_decode(d["id"]) for d in options_json.get("allowCredentials", [])}
        if allowed:
            candidates = [c for c in self.credentials if c.id in allowed and c.rp_id == rp_id]
        else:
            candidates = [c for c in self.credentials if c.discoverable and c.rp_id == rp_id]
        if credential_id is not None:
            if self.rogue:
                return self.credential(credential_id)
            candidates = [c for c in candidates if c.id == credential_id]
        if not candidates:
            raise NoCredential(f"no credential for {rp_id} that the request allows")
        if len(candidates) > 1 and not allowed:
            raise NoCredential("several discoverable credentials: pass credential_id to pick one")
        return candidates[0]

    def _uv_and_backup_flags(self, credential: Credential, user_verified: bool) -> int:
        flags = _USER_VERIFIED if user_verified else 0
        if credential.backed_up:
            flags |= _BACKUP_ELIGIBLE | _BACKED_UP
        return flags

    def _transports(self) -> list[str]:
        return ["hybrid", "internal"] if self.attachment == "platform" else ["usb"]


def _rp_id_hash(rp_id: str) -> bytes:
    return hashlib.sha256(rp_id.encode("utf-8")).digest()


def _client_data(ceremony: str, challenge: str, origin: str) -> bytes:
    """CollectedClientData as a browser serialises it (WebAuthn §5.8.1.1): compact, in order."""
    return json.dumps(
        {"type": ceremony, "challenge": challenge, "origin": origin, "crossOrigin": False},
        separators=(",", ":"),
    ).encode("utf-8")


def _host(origin: str) -> str:
    """A client's default rp id: the origin's effective domain."""
    host = urlsplit(origin).hostname
    if host is None:
        raise ValueError(f"not an origin: {origin!r}")
    return host

"""The WebAuthn ceremonies through py_webauthn, for one relying party."""

from __future__ import annotations

import json
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from application.ports.security import (
    CeremonyOptions,
    ExistingCredential,
    PasskeyRefused,
    PresentedAssertion,
    VerifiedAssertion,
    VerifiedRegistration,
)
from domain.passkey import CHALLENGE_LIFETIME

_TIMEOUT_MS = int(CHALLENGE_LIFETIME.total_seconds() * 1000)
_KNOWN_TRANSPORTS = {transport.value for transport in AuthenticatorTransport}


class PyWebAuthnCeremonies:
    def __init__(self, *, rp_id: str, rp_name: str, origin: str) -> None:
        self._rp_id = rp_id
        self._rp_name = rp_name
        self._origin = origin

    def registration_options(
        self,
        *,
        user_handle: bytes,
        user_name: str,
        display_name: str,
        exclude: list[ExistingCredential],
    ) -> CeremonyOptions:
        options = generate_registration_options(
            rp_id=self._rp_id,
            rp_name=self._rp_name,
            user_id=user_handle,
            user_name=user_name,
            user_display_name=display_name,
            timeout=_TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                require_resident_key=True,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(
                    id=existing.credential_id,
                    transports=[
                        AuthenticatorTransport(t)
                        for t in existing.transports
                        if t in _KNOWN_TRANSPORTS
                    ]
                    or None,
                )
                for existing in exclude
            ],
        )
        return CeremonyOptions(options.challenge, _json(options_to_json(options)))

    def verify_registration(
        self, credential: dict[str, Any], challenge: bytes
    ) -> VerifiedRegistration:
        try:
            parsed = parse_registration_credential_json(credential)
            verified = verify_registration_response(
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origin,
                require_user_verification=True,
            )
        # Hostile JSON reaches py_webauthn's parsers (CBOR, base64, structs), which raise
        # errors of many kinds: every one of them is a refused credential, never a 500.
        except Exception as error:
            raise PasskeyRefused(type(error).__name__) from None
        transports = tuple(t.value for t in parsed.response.transports or ())
        return VerifiedRegistration(
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            backed_up=verified.credential_backed_up,
            transports=transports,
        )

    def authentication_options(self) -> CeremonyOptions:
        options = generate_authentication_options(
            rp_id=self._rp_id,
            timeout=_TIMEOUT_MS,
            allow_credentials=[],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return CeremonyOptions(options.challenge, _json(options_to_json(options)))

    def read_assertion(self, credential: dict[str, Any]) -> PresentedAssertion:
        try:
            parsed = parse_authentication_credential_json(credential)
        except Exception as error:
            raise PasskeyRefused(type(error).__name__) from None
        return PresentedAssertion(parsed.raw_id, parsed.response.user_handle)

    def verify_authentication(
        self, credential: dict[str, Any], challenge: bytes, public_key: bytes
    ) -> VerifiedAssertion:
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origin,
                credential_public_key=public_key,
                # 0 turns py_webauthn's own counter check off: the caller applies the domain's
                # rule, so that a regression can be told apart from a bad signature and audited.
                credential_current_sign_count=0,
                require_user_verification=True,
            )
        except Exception as error:
            raise PasskeyRefused(type(error).__name__) from None
        return VerifiedAssertion(verified.new_sign_count, verified.credential_backed_up)


def _json(text: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(text)
    return result

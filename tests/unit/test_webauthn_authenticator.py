"""The software authenticator, checked by py_webauthn itself before any service test leans on it.

Each response goes from py_webauthn's options (through `options_to_json`, as a browser gets them)
to the authenticator and back into py_webauthn's verify functions: what they accept is real
WebAuthn, and what they refuse shows the attacker knobs produce the forgeries they claim to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import decode_credential_public_key, decoded_public_key_to_cryptography
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tests.webauthn_authenticator import (
    EDDSA,
    ES256,
    CredentialExcluded,
    NoCredential,
    SoftwareAuthenticator,
    UserNotVerified,
    b64url,
    b64url_decode,
)

RP_ID = "id.example.com"
ORIGIN = "https://id.example.com"
USER_ID = b"user-1-handle"
OTHER_USER_ID = b"user-2-handle"
CHALLENGE = b"a challenge of the relying party"


@dataclass
class Registered:
    credential_id: bytes
    public_key: bytes
    sign_count: int


def creation_options(
    *,
    user_id: bytes = USER_ID,
    resident_key: ResidentKeyRequirement = ResidentKeyRequirement.REQUIRED,
    user_verification: UserVerificationRequirement = UserVerificationRequirement.REQUIRED,
    exclude: list[bytes] | None = None,
) -> dict[str, Any]:
    options = generate_registration_options(
        rp_id=RP_ID,
        rp_name="Portcullis",
        user_name="eve@example.com",
        user_id=user_id,
        challenge=CHALLENGE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=resident_key, user_verification=user_verification
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=i) for i in exclude or []],
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def request_options(
    *,
    allow: list[bytes] | None = None,
    user_verification: UserVerificationRequirement = UserVerificationRequirement.REQUIRED,
) -> dict[str, Any]:
    options = generate_authentication_options(
        rp_id=RP_ID,
        challenge=CHALLENGE,
        allow_credentials=[PublicKeyCredentialDescriptor(id=i) for i in allow or []],
        user_verification=user_verification,
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def register(
    authenticator: SoftwareAuthenticator,
    *,
    user_id: bytes = USER_ID,
    resident_key: ResidentKeyRequirement = ResidentKeyRequirement.REQUIRED,
    backed_up: bool = False,
    counting: bool = True,
) -> Registered:
    options = creation_options(user_id=user_id, resident_key=resident_key)
    verified = verify_registration_response(
        credential=authenticator.register(options, ORIGIN, backed_up=backed_up, counting=counting),
        expected_challenge=CHALLENGE,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        require_user_verification=True,
    )
    return Registered(verified.credential_id, verified.credential_public_key, verified.sign_count)


def verify_assertion(
    assertion: dict[str, Any],
    registered: Registered,
    *,
    challenge: bytes = CHALLENGE,
    rp_id: str = RP_ID,
    origin: str = ORIGIN,
) -> int:
    """The new sign count py_webauthn accepts, which the relying party then stores."""
    verified = verify_authentication_response(
        credential=assertion,
        expected_challenge=challenge,
        expected_rp_id=rp_id,
        expected_origin=origin,
        credential_public_key=registered.public_key,
        credential_current_sign_count=registered.sign_count,
        require_user_verification=True,
    )
    assert verified.credential_id == registered.credential_id
    assert verified.user_verified
    return verified.new_sign_count


def test_a_registration_is_accepted_and_its_key_round_trips() -> None:
    authenticator = SoftwareAuthenticator()
    response = authenticator.register(creation_options(), ORIGIN)

    verified = verify_registration_response(
        credential=response,
        expected_challenge=CHALLENGE,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        require_user_verification=True,
    )

    held = authenticator.credential(verified.credential_id)
    assert response["rawId"] == response["id"] == b64url(verified.credential_id)
    assert verified.fmt == AttestationFormat.NONE
    assert verified.user_verified
    assert verified.sign_count == 0
    assert verified.credential_device_type == CredentialDeviceType.SINGLE_DEVICE
    assert not verified.credential_backed_up
    decoded = decode_credential_public_key(verified.credential_public_key)
    assert decoded.alg == ES256
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert decoded_public_key_to_cryptography(decoded).public_bytes(
        *der
    ) == held.private_key.public_key().public_bytes(*der)


def test_webauthn_json_is_base64url_without_padding() -> None:
    response = SoftwareAuthenticator().register(creation_options(), ORIGIN)

    encoded = [response["id"], *(v for v in response["response"].values() if isinstance(v, str))]
    assert all("=" not in v and "+" not in v and "/" not in v for v in encoded)
    client_data = json.loads(b64url_decode(response["response"]["clientDataJSON"]))
    assert client_data["type"] == "webauthn.create"
    assert client_data["challenge"] == b64url(CHALLENGE)


def test_a_backed_up_credential_registers_as_a_multi_device_passkey() -> None:
    verified = verify_registration_response(
        credential=SoftwareAuthenticator().register(creation_options(), ORIGIN, backed_up=True),
        expected_challenge=CHALLENGE,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
    )

    assert verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    assert verified.credential_backed_up


def test_an_assertion_for_an_allowed_credential_is_accepted_and_counts_up() -> None:
    authenticator = SoftwareAuthenticator()
    registered = register(authenticator, resident_key=ResidentKeyRequirement.DISCOURAGED)
    options = request_options(allow=[registered.credential_id])

    first = verify_assertion(authenticator.authenticate(options, ORIGIN), registered)
    registered.sign_count = first
    second = verify_assertion(authenticator.authenticate(options, ORIGIN), registered)

    assert (first, second) == (1, 2)


def test_a_discoverable_credential_is_found_without_allow_credentials() -> None:
    authenticator = SoftwareAuthenticator()
    registered = register(authenticator)

    assertion = authenticator.authenticate(request_options(), ORIGIN)

    assert verify_assertion(assertion, registered) == 1
    assert b64url_decode(assertion["response"]["userHandle"]) == USER_ID


def test_a_non_discoverable_credential_needs_allow_credentials_and_returns_no_handle() -> None:
    authenticator = SoftwareAuthenticator()
    registered = register(authenticator, resident_key=ResidentKeyRequirement.DISCOURAGED)

    with pytest.raises(NoCredential):
        authenticator.authenticate(request_options(), ORIGIN)
    assertion = authenticator.authenticate(
        request_options(allow=[registered.credential_id]), ORIGIN
    )
    assert assertion["response"]["userHandle"] is None


def test_the_user_picks_among_discoverable_credentials() -> None:
    authenticator = SoftwareAuthenticator()
    register(authenticator)
    second = register(authenticator, user_id=OTHER_USER_ID)

    with pytest.raises(NoCredential):
        authenticator.authenticate(request_options(), ORIGIN)
    assertion = authenticator.authenticate(
        request_options(), ORIGIN, credential_id=second.credential_id
    )
    assert verify_assertion(assertion, second) == 1
    assert b64url_decode(assertion["response"]["userHandle"]) == OTHER_USER_ID


def test_an_excluded_credential_is_not_registered_twice() -> None:
    authenticator = SoftwareAuthenticator()
    registered = register(authenticator)

    with pytest.raises(CredentialExcluded):
        authenticator.register(creation_options(exclude=[registered.credential_id]), ORIGIN)
    assert len(authenticator.credentials) == 1


def test_an_honest_authenticator_refuses_required_verification_it_did_not_do() -> None:
    with pytest.raises(UserNotVerified):
        SoftwareAuthenticator().register(creation_options(), ORIGIN, user_verified=False)


def test_ed25519_credentials_are_accepted() -> None:
    authenticator = SoftwareAuthenticator(algorithms=(EDDSA,))
    registered = register(authenticator)

    assertion = authenticator.authenticate(request_options(), ORIGIN)

    assert decode_credential_public_key(registered.public_key).alg == EDDSA
    assert verify_assertion(assertion, registered) == 1


def test_a_synced_passkey_keeps_its_counter_at_zero() -> None:
    authenticator = SoftwareAuthenticator()
    registered = register(authenticator, backed_up=True, counting=False)

    assert verify_assertion(authenticator.authenticate(request_options(), ORIGIN), registered) == 0
    assert verify_assertion(authenticator.authenticate(request_options(), ORIGIN), registered) == 0


# --- what py_webauthn refuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "expected", "reason"),
    [
        pytest.param({"origin": "https://evil.example"}, {}, "origin", id="another origin"),
        pytest.param({"rp_id": "evil.example"}, {}, "RP ID hash", id="another rp id in the data"),
        pytest.param({}, {"rp_id": "other.example.com"}, "RP ID hash", id="expected another rp id"),
        pytest.param({}, {"challenge": b"another challenge"}, "challenge", id="another challenge"),
        pytest.param(
            {"user_verified": False},
            {},
            "User verification is required",
            id="user verification missing",
        ),
    ],
)
def test_a_forged_registration_is_refused(
    signed: dict[str, Any], expected: dict[str, Any], reason: str
) -> None:
    authenticator = SoftwareAuthenticator(rogue=True)

    response = authenticator.register(
        creation_options(),
        signed.get("origin", ORIGIN),
        rp_id=signed.get("rp_id"),
        user_verified=signed.get("user_verified", True),
    )

    with pytest.raises(InvalidRegistrationResponse, match=reason):
        verify_registration_response(
            credential=response,
            expected_challenge=expected.get("challenge", CHALLENGE),
            expected_rp_id=expected.get("rp_id", RP_ID),
            expected_origin=ORIGIN,
            require_user_verification=True,
        )


@pytest.mark.parametrize(
    ("signed", "expected", "reason"),
    [
        pytest.param({"origin": "https://evil.example"}, {}, "origin", id="another origin"),
        pytest.param({"rp_id": "evil.example"}, {}, "RP ID hash", id="another rp id in the data"),
        pytest.param({}, {"rp_id": "other.example.com"}, "RP ID hash", id="expected another rp id"),
        pytest.param({}, {"challenge": b"another challenge"}, "challenge", id="another challenge"),
        pytest.param({"tamper_signature": True}, {}, "signature", id="tampered signature"),
        pytest.param(
            {"user_verified": False},
            {},
            "User verification is required",
            id="user verification missing",
        ),
    ],
)
def test_a_forged_assertion_is_refused(
    signed: dict[str, Any], expected: dict[str, Any], reason: str
) -> None:
    # Rogue, so that it signs without the user verification the options require.
    authenticator = SoftwareAuthenticator(rogue=True)
    registered = register(authenticator)

    assertion = authenticator.authenticate(
        request_options(),
        signed.get("origin", ORIGIN),
        rp_id=signed.get("rp_id"),
        tamper_signature=signed.get("tamper_signature", False),
        user_verified=signed.get("user_verified", True),
    )

    with pytest.raises(InvalidAuthenticationResponse, match=reason):
        verify_assertion(assertion, registered, **expected)


def test_a_signature_by_another_credential_is_refused() -> None:
    authenticator = SoftwareAuthenticator()
    registered = register(authenticator)
    other = SoftwareAuthenticator()
    register(other)
    assertion = other.authenticate(request_options(), ORIGIN)
    # The other credential's signature, presented under the registered credential's id.
    assertion["id"] = assertion["rawId"] = b64url(registered.credential_id)

    with pytest.raises(InvalidAuthenticationResponse, match="signature"):
        verify_assertion(assertion, registered)


def test_a_counter_that_goes_back_is_refused() -> None:
    authenticator = SoftwareAuthenticator()
    registered = register(authenticator)
    registered.sign_count = verify_assertion(
        authenticator.authenticate(request_options(), ORIGIN), registered
    )
    authenticator.set_sign_count(registered.credential_id, 0)

    with pytest.raises(InvalidAuthenticationResponse, match="sign count"):
        verify_assertion(authenticator.authenticate(request_options(), ORIGIN), registered)


def test_a_replayed_assertion_is_refused_by_its_counter() -> None:
    authenticator = SoftwareAuthenticator()
    registered = register(authenticator)
    registered.sign_count = verify_assertion(
        authenticator.authenticate(request_options(), ORIGIN), registered
    )

    with pytest.raises(InvalidAuthenticationResponse, match="sign count"):
        verify_assertion(authenticator.replay(), registered)


def test_a_replay_at_counter_zero_passes_py_webauthn_so_challenges_must_be_single_use() -> None:
    # A synced passkey's counter stays 0, and py_webauthn then skips the counter check: only a
    # challenge the relying party consumes on first use stops the same assertion coming back.
    authenticator = SoftwareAuthenticator()
    registered = register(authenticator, backed_up=True, counting=False)
    verify_assertion(authenticator.authenticate(request_options(), ORIGIN), registered)

    assert verify_assertion(authenticator.replay(), registered) == 0


def test_another_users_handle_passes_py_webauthn_so_the_owner_must_be_checked() -> None:
    # userHandle is not under the signature: py_webauthn ignores it, and a relying party that
    # logs in the handle's user instead of the credential's owner is open to this.
    authenticator = SoftwareAuthenticator()
    registered = register(authenticator)

    assertion = authenticator.authenticate(request_options(), ORIGIN, user_handle=OTHER_USER_ID)

    assert b64url_decode(assertion["response"]["userHandle"]) == OTHER_USER_ID
    assert verify_assertion(assertion, registered) == 1

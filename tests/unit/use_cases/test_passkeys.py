"""Passkeys over the fakes: registration, sign-in and the rules that keep an assertion from
being replayed, a counter from going back, or one account's passkey from signing in another."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from adapters.security.webauthn_ceremonies import PyWebAuthnCeremonies
from application.audit import AuditEvents
from application.errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidCurrentPassword,
    InvalidPasskey,
    LastLoginMethod,
    NotFound,
)
from application.ports.metrics import LoginOutcome
from application.ports.security import VerifiedRegistration
from application.use_cases.passkeys.begin_passkey_registration import (
    BeginPasskeyRegistrationCommand,
)
from application.use_cases.passkeys.delete_passkey import DeletePasskeyCommand
from application.use_cases.passkeys.list_passkeys import ListPasskeysQuery
from application.use_cases.passkeys.register_passkey import RegisterPasskeyCommand
from application.use_cases.passkeys.rename_passkey import RenamePasskeyCommand
from application.use_cases.passkeys.sign_in_with_passkey import SignInWithPasskeyCommand
from domain.audit_event import AuditEventType
from domain.auth_method import PASSKEY
from tests.fakes import (
    FakeAccessTokens,
    FakePasswordHasher,
    FakeUnitOfWorkFactory,
    FixedClock,
    InMemoryStore,
    RecordingSecurityMetrics,
    SequentialIds,
)
from tests.unit.builders import Accounts, events_about, recorded_events
from tests.unit.passkeys import ORIGIN, RP_ID, Passkeys
from tests.webauthn_authenticator import SoftwareAuthenticator, b64url_decode


def event_types(store: InMemoryStore) -> list[AuditEventType]:
    return [event.type for event in recorded_events(store)]


async def test_a_registered_passkey_signs_in_as_two_factors_with_no_totp_step(
    passkeys: Passkeys,
    accounts: Accounts,
    store: InMemoryStore,
    tokens: FakeAccessTokens,
    security_metrics: RecordingSecurityMetrics,
) -> None:
    user = await accounts.user()
    authenticator = SoftwareAuthenticator()

    added = await passkeys.add(accounts.signed_in(user), authenticator)
    pair = await passkeys.sign_in(authenticator)

    assert added.name == "Passkey"
    claims = await tokens.verify(pair.access_token)
    assert claims.subject == user.id
    assert claims.amr == PASSKEY
    assert security_metrics.logins == [LoginOutcome.SUCCESS]
    (stored,) = store.passkeys.values()
    assert stored.sign_count == 1
    assert stored.last_used_at is not None
    types = [event.type for event in events_about(store, user.id)]
    assert types == [AuditEventType.PASSKEY_ADDED, AuditEventType.LOGIN_SUCCEEDED]
    (notice,) = [queued.message for queued in store.outbox.values()]
    assert notice.to == "eve@example.com"
    assert notice.subject == "A passkey was added to your account"


async def test_the_creation_options_take_the_current_password_and_exclude_own_passkeys(
    passkeys: Passkeys, accounts: Accounts
) -> None:
    user = await accounts.user()
    principal = accounts.signed_in(user)
    authenticator = SoftwareAuthenticator()
    await passkeys.add(principal, authenticator)

    with pytest.raises(InvalidCurrentPassword):
        await passkeys.begin_registration.execute(
            BeginPasskeyRegistrationCommand(principal, "not the password")
        )
    options = (await passkeys.creation_options(principal)).public_key

    excluded = [b64url_decode(d["id"]) for d in options["excludeCredentials"]]
    assert excluded == [authenticator.credentials[0].id]
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["rp"]["id"] == RP_ID
    assert b64url_decode(options["user"]["id"]) == user.id.bytes


async def test_a_credential_id_already_registered_is_invalid_passkey(
    uow: FakeUnitOfWorkFactory,
    hasher: FakePasswordHasher,
    tokens: FakeAccessTokens,
    clock: FixedClock,
    ids: SequentialIds,
    audit: AuditEvents,
    security_metrics: RecordingSecurityMetrics,
    accounts: Accounts,
    store: InMemoryStore,
) -> None:
    """As a rogue client would post it: another account's credential id, with a fresh key."""
    taken: list[bytes] = []

    class ClaimingTakenIds(PyWebAuthnCeremonies):
        def verify_registration(
            self, credential: dict[str, Any], challenge: bytes
        ) -> VerifiedRegistration:
            verified = super().verify_registration(credential, challenge)
            return dataclasses.replace(verified, credential_id=taken[0]) if taken else verified

    webauthn = ClaimingTakenIds(rp_id=RP_ID, rp_name="Portcullis", origin=ORIGIN)
    passkeys = Passkeys(uow, hasher, tokens, clock, ids, audit, security_metrics, webauthn)
    eve, mallory = await accounts.user(), await accounts.user("mallory@example.com")
    await passkeys.add(accounts.signed_in(eve), SoftwareAuthenticator())
    taken.append(next(iter(store.passkeys.values())).credential_id)

    with pytest.raises(InvalidPasskey):
        await passkeys.add(accounts.signed_in(mallory), SoftwareAuthenticator(rogue=True))
    assert len(store.passkeys) == 1


async def test_a_registration_challenge_serves_only_its_own_account(
    passkeys: Passkeys, accounts: Accounts, store: InMemoryStore
) -> None:
    eve, mallory = await accounts.user(), await accounts.user("mallory@example.com")
    ceremony = await passkeys.creation_options(accounts.signed_in(eve))
    credential = SoftwareAuthenticator().register(ceremony.public_key, ORIGIN)

    with pytest.raises(InvalidPasskey):
        await passkeys.register.execute(
            RegisterPasskeyCommand(accounts.signed_in(mallory), ceremony.challenge_id, credential)
        )
    assert store.passkeys == {}


async def test_a_failed_registration_spends_its_challenge(
    passkeys: Passkeys, accounts: Accounts, store: InMemoryStore
) -> None:
    principal = accounts.signed_in(await accounts.user())
    ceremony = await passkeys.creation_options(principal)
    authenticator = SoftwareAuthenticator()

    with pytest.raises(InvalidPasskey):
        await passkeys.register.execute(
            RegisterPasskeyCommand(
                principal,
                ceremony.challenge_id,
                authenticator.register(ceremony.public_key, "https://evil.example"),
            )
        )
    with pytest.raises(InvalidPasskey):
        await passkeys.register.execute(
            RegisterPasskeyCommand(
                principal,
                ceremony.challenge_id,
                authenticator.register(ceremony.public_key, ORIGIN),
            )
        )
    assert store.passkeys == {}


@pytest.mark.parametrize("purpose", ["registration", "authentication"])
async def test_a_challenge_lives_five_minutes(
    purpose: str, passkeys: Passkeys, accounts: Accounts, clock: FixedClock
) -> None:
    principal = accounts.signed_in(await accounts.user())
    authenticator = SoftwareAuthenticator()
    if purpose == "registration":
        ceremony = await passkeys.creation_options(principal)
        credential = authenticator.register(ceremony.public_key, ORIGIN)
        clock.advance(minutes=5)
        with pytest.raises(InvalidPasskey):
            await passkeys.register.execute(
                RegisterPasskeyCommand(principal, ceremony.challenge_id, credential)
            )
        return
    await passkeys.add(principal, authenticator)
    ceremony = await passkeys.request_options()
    credential = authenticator.authenticate(ceremony.public_key, ORIGIN)
    clock.advance(minutes=4, seconds=59)
    fresh = await passkeys.request_options()
    late = authenticator.authenticate(fresh.public_key, ORIGIN)
    clock.advance(seconds=1)
    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in_with.execute(
            SignInWithPasskeyCommand(ceremony.challenge_id, credential)
        )
    assert await passkeys.sign_in_with.execute(SignInWithPasskeyCommand(fresh.challenge_id, late))


async def test_an_assertion_is_refused_the_second_time_even_with_its_counter_at_zero(
    passkeys: Passkeys, accounts: Accounts, security_metrics: RecordingSecurityMetrics
) -> None:
    authenticator = SoftwareAuthenticator()
    await passkeys.add(accounts.signed_in(await accounts.user()), authenticator, counting=False)
    ceremony = await passkeys.request_options()
    assertion = authenticator.authenticate(ceremony.public_key, ORIGIN)

    await passkeys.sign_in_with.execute(SignInWithPasskeyCommand(ceremony.challenge_id, assertion))
    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in_with.execute(
            SignInWithPasskeyCommand(ceremony.challenge_id, authenticator.replay())
        )
    assert security_metrics.logins == [LoginOutcome.SUCCESS, LoginOutcome.INVALID_CREDENTIALS]


async def test_a_failed_sign_in_spends_its_challenge(
    passkeys: Passkeys, accounts: Accounts
) -> None:
    authenticator = SoftwareAuthenticator()
    await passkeys.add(accounts.signed_in(await accounts.user()), authenticator)
    ceremony = await passkeys.request_options()

    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in_with.execute(
            SignInWithPasskeyCommand(
                ceremony.challenge_id,
                authenticator.authenticate(ceremony.public_key, ORIGIN, tamper_signature=True),
            )
        )
    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in_with.execute(
            SignInWithPasskeyCommand(
                ceremony.challenge_id, authenticator.authenticate(ceremony.public_key, ORIGIN)
            )
        )


async def test_a_registration_challenge_does_not_serve_a_sign_in(
    passkeys: Passkeys, accounts: Accounts
) -> None:
    principal = accounts.signed_in(await accounts.user())
    authenticator = SoftwareAuthenticator()
    await passkeys.add(principal, authenticator)
    ceremony = await passkeys.creation_options(principal)
    signed = authenticator.authenticate({**ceremony.public_key, "rpId": RP_ID}, ORIGIN)

    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in_with.execute(SignInWithPasskeyCommand(ceremony.challenge_id, signed))


async def test_two_sign_ins_racing_for_one_challenge_open_one_session(
    passkeys: Passkeys, accounts: Accounts, store: InMemoryStore
) -> None:
    authenticator = SoftwareAuthenticator(rogue=True)
    await passkeys.add(accounts.signed_in(await accounts.user()), authenticator, counting=False)
    ceremony = await passkeys.request_options()
    assertion = authenticator.authenticate(ceremony.public_key, ORIGIN)
    sessions_before = len(store.sessions)

    results = await asyncio.gather(
        *(
            passkeys.sign_in_with.execute(
                SignInWithPasskeyCommand(ceremony.challenge_id, assertion)
            )
            for _ in range(4)
        ),
        return_exceptions=True,
    )

    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, InvalidCredentials) for r in results if isinstance(r, BaseException))
    assert len(store.sessions) == sessions_before + 1


async def test_counters_that_stay_at_zero_are_fine(
    passkeys: Passkeys, accounts: Accounts, store: InMemoryStore
) -> None:
    authenticator = SoftwareAuthenticator()
    await passkeys.add(accounts.signed_in(await accounts.user()), authenticator, counting=False)

    await passkeys.sign_in(authenticator)
    await passkeys.sign_in(authenticator)

    assert next(iter(store.passkeys.values())).sign_count == 0


@pytest.mark.parametrize("presented", [3, 2])
async def test_a_counter_that_does_not_increase_is_refused_and_audited(
    presented: int,
    passkeys: Passkeys,
    accounts: Accounts,
    store: InMemoryStore,
    security_metrics: RecordingSecurityMetrics,
) -> None:
    user = await accounts.user()
    authenticator = SoftwareAuthenticator()
    await passkeys.add(accounts.signed_in(user), authenticator)
    for _ in range(3):
        await passkeys.sign_in(authenticator)
    credential_id = authenticator.credentials[0].id
    # The next assertion counts presented: the same as the stored 3, or below it (a clone).
    authenticator.set_sign_count(credential_id, presented - 1)

    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in(authenticator)

    (regressed,) = [
        e for e in recorded_events(store) if e.type == AuditEventType.PASSKEY_COUNTER_REGRESSED
    ]
    assert regressed.user_id == user.id
    assert regressed.data["stored_sign_count"] == 3
    assert regressed.data["presented_sign_count"] == presented
    assert next(iter(store.passkeys.values())).sign_count == 3
    assert security_metrics.logins[-1] == LoginOutcome.INVALID_CREDENTIALS


async def test_a_user_handle_that_is_not_the_owners_is_refused(
    passkeys: Passkeys, accounts: Accounts, store: InMemoryStore
) -> None:
    eve, mallory = await accounts.user(), await accounts.user("mallory@example.com")
    authenticator = SoftwareAuthenticator()
    await passkeys.add(accounts.signed_in(mallory), authenticator)

    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in(authenticator, user_handle=eve.id.bytes)

    failed = [e for e in recorded_events(store) if e.type == AuditEventType.LOGIN_FAILED]
    assert failed[-1].data["reason"] == "user_handle_mismatch"
    assert not any(e.type == AuditEventType.LOGIN_SUCCEEDED for e in recorded_events(store))


@pytest.mark.parametrize(
    "knobs",
    [
        {"origin": "https://evil.example"},
        {"rp_id": "evil.example"},
        {"tamper_signature": True},
        {"user_verified": False},
    ],
    ids=["origin", "rp_id", "signature", "no_user_verification"],
)
async def test_an_assertion_that_does_not_verify_is_invalid_credentials(
    knobs: dict[str, Any], passkeys: Passkeys, accounts: Accounts
) -> None:
    authenticator = SoftwareAuthenticator(rogue=True)
    await passkeys.add(accounts.signed_in(await accounts.user()), authenticator)

    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in(authenticator, **knobs)


async def test_an_unknown_credential_or_malformed_json_is_invalid_credentials(
    passkeys: Passkeys,
) -> None:
    stranger = SoftwareAuthenticator()
    stranger.register(
        {
            "rp": {"id": RP_ID, "name": "x"},
            "user": {"id": "AAAA", "name": "x", "displayName": "x"},
            "challenge": "AAAA",
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
            "authenticatorSelection": {"residentKey": "required"},
        },
        ORIGIN,
    )
    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in(stranger)
    ceremony = await passkeys.request_options()
    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in_with.execute(
            SignInWithPasskeyCommand(ceremony.challenge_id, {"id": 3, "response": []})
        )


async def test_a_deactivated_account_is_told_only_after_a_valid_assertion(
    passkeys: Passkeys,
    accounts: Accounts,
    store: InMemoryStore,
    security_metrics: RecordingSecurityMetrics,
) -> None:
    user = await accounts.user()
    authenticator = SoftwareAuthenticator()
    await passkeys.add(accounts.signed_in(user), authenticator)
    store.users[user.id].is_active = False

    with pytest.raises(InvalidCredentials):
        await passkeys.sign_in(authenticator, tamper_signature=True)
    with pytest.raises(AccountDisabled):
        await passkeys.sign_in(authenticator)
    assert security_metrics.logins == [
        LoginOutcome.INVALID_CREDENTIALS,
        LoginOutcome.ACCOUNT_DISABLED,
    ]


async def test_list_rename_and_delete_touch_only_ones_own_passkeys(
    passkeys: Passkeys, accounts: Accounts, store: InMemoryStore
) -> None:
    eve, mallory = await accounts.user(), await accounts.user("mallory@example.com")
    added = await passkeys.add(accounts.signed_in(eve), SoftwareAuthenticator())
    as_mallory = accounts.signed_in(mallory)

    with pytest.raises(NotFound):
        await passkeys.rename.execute(RenamePasskeyCommand(as_mallory, added.id, "mine"))
    with pytest.raises(NotFound):
        await passkeys.delete.execute(DeletePasskeyCommand(as_mallory, added.id))
    assert await passkeys.list.execute(ListPasskeysQuery(as_mallory)) == []

    as_eve = accounts.signed_in(eve)
    renamed = await passkeys.rename.execute(RenamePasskeyCommand(as_eve, added.id, "Phone"))
    assert [p.name for p in await passkeys.list.execute(ListPasskeysQuery(as_eve))] == ["Phone"]
    assert renamed.name == "Phone"
    await passkeys.delete.execute(DeletePasskeyCommand(as_eve, added.id))
    assert store.passkeys == {}
    assert AuditEventType.PASSKEY_REMOVED in event_types(store)


async def test_the_last_way_to_sign_in_is_not_removed(
    passkeys: Passkeys, accounts: Accounts, store: InMemoryStore
) -> None:
    user = await accounts.user()
    principal = accounts.signed_in(user)
    first = await passkeys.add(principal, SoftwareAuthenticator())
    second = await passkeys.add(principal, SoftwareAuthenticator())
    store.users[user.id].password_hash = ""  # as an account made through a provider has it

    await passkeys.delete.execute(DeletePasskeyCommand(principal, first.id))
    with pytest.raises(LastLoginMethod):
        await passkeys.delete.execute(DeletePasskeyCommand(principal, second.id))
    assert list(store.passkeys) == [second.id]

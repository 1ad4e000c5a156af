"""TOTP and recovery codes, driven through the use cases over the fakes. Codes come from pyotp
itself at the fake clock's time, as an authenticator app would compute them."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pyotp
import pytest

from application.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidCurrentPassword,
    InvalidMfaCode,
    InvalidMfaToken,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    MfaRequired,
    TooManyRequests,
)
from application.ports.metrics import LoginOutcome
from application.security_notices import SecurityNotice, security_notice_email
from application.use_cases.admin.reset_mfa import ResetMfa, ResetMfaCommand
from application.use_cases.log_in import LogInCommand
from application.use_cases.second_factor.confirm_totp import ConfirmTotpCommand
from application.use_cases.second_factor.disable_totp import DisableTotpCommand
from application.use_cases.second_factor.mfa_status import MfaStatusQuery
from application.use_cases.second_factor.renew_recovery_codes import (
    RenewRecoveryCodesCommand,
)
from application.use_cases.second_factor.start_totp_setup import (
    StartTotpSetupCommand,
)
from domain.audit_event import AuditEventType
from domain.auth_method import PASSWORD_AND_RECOVERY_CODE, PASSWORD_AND_TOTP
from domain.role import Role
from domain.second_factor import MAX_WRONG_CODES
from tests.fakes import (
    FakeAccessTokens,
    InMemoryStore,
    RecordingSecurityMetrics,
)
from tests.unit.builders import PASSWORD, THROTTLE, Accounts
from tests.unit.second_factor import EMAIL, SecondFactor


def event_types(store: InMemoryStore) -> list[AuditEventType]:
    return [event.type for event in store.audit_events.values()]


# Set-up and confirmation


async def test_set_up_gives_a_secret_an_app_can_scan_and_changes_nothing_yet(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)

    setup = await mfa.start.execute(StartTotpSetupCommand(accounts.signed_in(eve), PASSWORD))

    assert re.fullmatch(r"[A-Z2-7]{32}", setup.secret)  # base32, 160 bits, no padding
    assert setup.otpauth_uri == (
        f"otpauth://totp/Portcullis:eve%40example.com?secret={setup.secret}"
        "&issuer=Portcullis&algorithm=SHA1&digits=6&period=30"
    )
    assert pyotp.parse_uri(setup.otpauth_uri).secret == setup.secret
    assert setup.qr_svg.startswith("<svg")
    assert "</svg>" in setup.qr_svg
    assert store.users[eve.id].mfa_enabled is False
    assert not store.totp_factors[eve.id].is_enabled


async def test_set_up_needs_the_current_password(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)

    with pytest.raises(InvalidCurrentPassword):
        await mfa.start.execute(StartTotpSetupCommand(accounts.signed_in(eve), "not my password"))

    assert store.totp_factors == {}


async def test_starting_again_replaces_the_secret_not_yet_confirmed(
    mfa: SecondFactor, accounts: Accounts
) -> None:
    eve = await accounts.user(EMAIL)
    first = await mfa.start.execute(StartTotpSetupCommand(accounts.signed_in(eve), PASSWORD))
    second = await mfa.start.execute(StartTotpSetupCommand(accounts.signed_in(eve), PASSWORD))

    with pytest.raises(InvalidMfaCode):
        await mfa.confirm.execute(
            ConfirmTotpCommand(accounts.signed_in(eve), mfa.code(first.secret))
        )
    await mfa.confirm.execute(ConfirmTotpCommand(accounts.signed_in(eve), mfa.code(second.secret)))


async def test_confirming_turns_totp_on_with_ten_recovery_codes_and_ends_other_sessions(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)
    this_device, other_device = accounts.session(eve), accounts.session(eve)
    setup = await mfa.start.execute(StartTotpSetupCommand(accounts.signed_in(eve), PASSWORD))

    codes = await mfa.confirm.execute(
        ConfirmTotpCommand(accounts.signed_in(eve, this_device), mfa.code(setup.secret))
    )

    assert len(codes) == 10 == len(set(codes))
    assert all(re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", code) for code in codes)
    stored_hashes = {code.code_hash for code in store.recovery_codes.values()}
    assert len(stored_hashes) == 10
    assert not stored_hashes & set(codes)
    assert store.users[eve.id].mfa_enabled is True
    assert store.sessions[this_device.id].revoked_at is None
    assert store.sessions[other_device.id].revoked_at is not None
    assert event_types(store) == [AuditEventType.TOTP_ENABLED]


async def test_a_wrong_code_confirms_nothing(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)
    setup = await mfa.start.execute(StartTotpSetupCommand(accounts.signed_in(eve), PASSWORD))
    wrong = mfa.code(setup.secret, steps_ahead=5)

    with pytest.raises(InvalidMfaCode):
        await mfa.confirm.execute(ConfirmTotpCommand(accounts.signed_in(eve), wrong))

    assert store.users[eve.id].mfa_enabled is False
    assert store.recovery_codes == {}


async def test_confirming_without_a_set_up_or_twice_is_refused(
    mfa: SecondFactor, accounts: Accounts
) -> None:
    eve = await accounts.user(EMAIL)
    with pytest.raises(MfaNotEnabled):
        await mfa.confirm.execute(ConfirmTotpCommand(accounts.signed_in(eve), "123456"))
    secret, _ = await mfa.enrolled(eve)

    with pytest.raises(MfaAlreadyEnabled):
        await mfa.confirm.execute(ConfirmTotpCommand(accounts.signed_in(eve), mfa.code(secret)))
    with pytest.raises(MfaAlreadyEnabled):
        await mfa.start.execute(StartTotpSetupCommand(accounts.signed_in(eve), PASSWORD))


# The login's second step


async def test_a_right_password_opens_no_session_but_asks_for_the_second_factor(
    mfa: SecondFactor,
    accounts: Accounts,
    store: InMemoryStore,
    security_metrics: RecordingSecurityMetrics,
) -> None:
    eve = await accounts.user(EMAIL)
    await mfa.enrolled(eve)
    sessions_before = set(store.sessions)

    with pytest.raises(MfaRequired) as required:
        await mfa.log_in.execute(LogInCommand(EMAIL, PASSWORD))

    assert required.value.methods == ("totp", "recovery_code")
    assert len(required.value.mfa_token) >= 22  # at least 128 bits
    assert set(store.sessions) == sessions_before
    assert security_metrics.logins[-1] is LoginOutcome.MFA_REQUIRED


async def test_a_wrong_password_answers_as_for_an_account_without_a_second_factor(
    mfa: SecondFactor, accounts: Accounts
) -> None:
    eve = await accounts.user(EMAIL)
    await mfa.enrolled(eve)

    with pytest.raises(InvalidCredentials):
        await mfa.log_in.execute(LogInCommand(EMAIL, "not my password"))


async def test_the_code_opens_a_session_whose_tokens_say_password_and_totp(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore, tokens: FakeAccessTokens
) -> None:
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)

    access_token = await mfa.second_step(await mfa.mfa_token(), code=mfa.code(secret))

    claims = tokens.issued[access_token]
    assert claims.amr == PASSWORD_AND_TOTP
    assert store.sessions[claims.session_id].amr == PASSWORD_AND_TOTP
    assert event_types(store)[-1] is AuditEventType.LOGIN_SUCCEEDED


async def test_a_code_works_once_even_within_its_thirty_seconds(
    mfa: SecondFactor, accounts: Accounts
) -> None:
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)
    code = mfa.code(secret)
    await mfa.second_step(await mfa.mfa_token(), code=code)

    with pytest.raises(InvalidMfaCode):
        await mfa.second_step(await mfa.mfa_token(), code=code)
    # The next step's code, one step of drift ahead, still works.
    await mfa.second_step(await mfa.mfa_token(), code=mfa.code(secret, steps_ahead=1))
    # And now the current step is older than the newest accepted one.
    with pytest.raises(InvalidMfaCode):
        await mfa.second_step(await mfa.mfa_token(), code=mfa.code(secret))


async def test_the_code_that_confirmed_set_up_counts_as_used(
    mfa: SecondFactor, accounts: Accounts
) -> None:
    eve = await accounts.user(EMAIL)
    setup = await mfa.start.execute(StartTotpSetupCommand(accounts.signed_in(eve), PASSWORD))
    confirming = mfa.code(setup.secret)
    await mfa.confirm.execute(ConfirmTotpCommand(accounts.signed_in(eve), confirming))

    with pytest.raises(InvalidMfaCode):
        await mfa.second_step(await mfa.mfa_token(), code=confirming)


@pytest.mark.parametrize(("steps", "accepted"), [(-2, False), (-1, True), (1, True), (2, False)])
async def test_one_step_of_clock_drift_either_way(
    mfa: SecondFactor, accounts: Accounts, steps: int, accepted: bool
) -> None:
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)
    mfa.clock.advance(minutes=5)  # well past the confirming step
    token = await mfa.mfa_token()

    if accepted:
        await mfa.second_step(token, code=mfa.code(secret, steps_ahead=steps))
    else:
        with pytest.raises(InvalidMfaCode):
            await mfa.second_step(token, code=mfa.code(secret, steps_ahead=steps))


async def test_a_recovery_code_works_once_and_says_so_in_amr(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore, tokens: FakeAccessTokens
) -> None:
    eve = await accounts.user(EMAIL)
    _, codes = await mfa.enrolled(eve)

    access_token = await mfa.second_step(
        await mfa.mfa_token(), recovery_code=f"  {codes[3].upper()} "
    )

    assert tokens.issued[access_token].amr == PASSWORD_AND_RECOVERY_CODE
    assert AuditEventType.RECOVERY_CODE_USED in event_types(store)
    with pytest.raises(InvalidMfaCode):
        await mfa.second_step(await mfa.mfa_token(), recovery_code=codes[3])
    status = await mfa.status.execute(MfaStatusQuery(accounts.signed_in(eve)))
    assert (status.totp_enabled, status.recovery_codes_remaining) == (True, 9)


async def test_the_fifth_wrong_code_spends_the_mfa_token(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)
    token = await mfa.mfa_token()
    wrong = mfa.code(secret, steps_ahead=10)

    for _ in range(MAX_WRONG_CODES):
        with pytest.raises(InvalidMfaCode):
            await mfa.second_step(token, code=wrong)

    with pytest.raises(InvalidMfaToken):
        await mfa.second_step(token, code=mfa.code(secret))
    assert event_types(store).count(AuditEventType.MFA_FAILED) == MAX_WRONG_CODES


async def test_an_mfa_token_expires_and_an_unknown_one_is_refused(
    mfa: SecondFactor, accounts: Accounts
) -> None:
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)
    token = await mfa.mfa_token()
    mfa.clock.advance(minutes=5)

    with pytest.raises(InvalidMfaToken):
        await mfa.second_step(token, code=mfa.code(secret))
    with pytest.raises(InvalidMfaToken):
        await mfa.second_step("made-up-token", code=mfa.code(secret))


async def test_a_spent_mfa_token_opens_nothing_more(mfa: SecondFactor, accounts: Accounts) -> None:
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)
    token = await mfa.mfa_token()
    await mfa.second_step(token, code=mfa.code(secret))

    with pytest.raises(InvalidMfaToken):
        await mfa.second_step(token, code=mfa.code(secret, steps_ahead=1))


async def test_wrong_codes_count_toward_the_login_throttle_which_new_logins_do_not_reset(
    mfa: SecondFactor, accounts: Accounts
) -> None:
    """Someone who knows the password must not get fresh guesses at the code by logging in
    again: the password step leaves the count alone, and a throttled account's second step is
    refused too."""
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)
    wrong = mfa.code(secret, steps_ahead=10)

    for _ in range(THROTTLE.max_failures // MAX_WRONG_CODES):
        token = await mfa.mfa_token()
        for _ in range(MAX_WRONG_CODES):
            with pytest.raises(InvalidMfaCode):
                await mfa.second_step(token, code=wrong)

    with pytest.raises(TooManyRequests):
        await mfa.log_in.execute(LogInCommand(EMAIL, PASSWORD))


async def test_a_throttled_account_cannot_use_an_mfa_token_gathered_before(
    mfa: SecondFactor, accounts: Accounts
) -> None:
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)
    saved = await mfa.mfa_token()
    for _ in range(THROTTLE.max_failures):
        with pytest.raises(InvalidCredentials):
            await mfa.log_in.execute(LogInCommand(EMAIL, "a wrong guess"))

    with pytest.raises(TooManyRequests):
        await mfa.second_step(saved, code=mfa.code(secret))


async def test_a_full_login_clears_the_failure_count(mfa: SecondFactor, accounts: Accounts) -> None:
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)
    for _ in range(THROTTLE.max_failures - 1):
        with pytest.raises(InvalidCredentials):
            await mfa.log_in.execute(LogInCommand(EMAIL, "a wrong guess"))

    await mfa.second_step(await mfa.mfa_token(), code=mfa.code(secret))

    for _ in range(THROTTLE.max_failures - 1):
        with pytest.raises(InvalidCredentials):
            await mfa.log_in.execute(LogInCommand(EMAIL, "a wrong guess"))
    await mfa.mfa_token()  # not throttled


# Turning it off and renewing the codes


async def test_disabling_takes_the_password_and_a_code_and_voids_the_recovery_codes(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)
    with pytest.raises(InvalidCurrentPassword):
        await mfa.disable.execute(
            DisableTotpCommand(accounts.signed_in(eve), "not my password", mfa.code(secret))
        )
    with pytest.raises(InvalidMfaCode):
        await mfa.disable.execute(DisableTotpCommand(accounts.signed_in(eve), PASSWORD, "000000"))
    assert store.users[eve.id].mfa_enabled is True

    await mfa.disable.execute(
        DisableTotpCommand(accounts.signed_in(eve), PASSWORD, mfa.code(secret))
    )

    assert store.users[eve.id].mfa_enabled is False
    assert store.totp_factors == {}
    assert store.recovery_codes == {}
    assert AuditEventType.TOTP_DISABLED in event_types(store)
    eve.mfa_enabled = False
    await mfa.log_in.execute(LogInCommand(EMAIL, PASSWORD))  # a password alone again


async def test_a_recovery_code_can_turn_totp_off(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)
    _, codes = await mfa.enrolled(eve)

    await mfa.disable.execute(DisableTotpCommand(accounts.signed_in(eve), PASSWORD, codes[0]))

    assert store.users[eve.id].mfa_enabled is False


async def test_disabling_when_off_is_refused(mfa: SecondFactor, accounts: Accounts) -> None:
    eve = await accounts.user(EMAIL)

    with pytest.raises(MfaNotEnabled):
        await mfa.disable.execute(DisableTotpCommand(accounts.signed_in(eve), PASSWORD, "123456"))


async def test_renewing_gives_a_new_set_and_voids_the_old_one(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)
    secret, old = await mfa.enrolled(eve)

    new = await mfa.renew.execute(
        RenewRecoveryCodesCommand(accounts.signed_in(eve), PASSWORD, mfa.code(secret))
    )

    assert len(new) == 10
    assert not set(new) & set(old)
    assert AuditEventType.RECOVERY_CODES_RENEWED in event_types(store)
    with pytest.raises(InvalidMfaCode):
        await mfa.second_step(await mfa.mfa_token(), recovery_code=old[0])
    await mfa.second_step(await mfa.mfa_token(), recovery_code=new[0])


async def test_the_status_says_whether_totp_is_on_and_how_many_codes_are_left(
    mfa: SecondFactor, accounts: Accounts
) -> None:
    eve = await accounts.user(EMAIL)
    before = await mfa.status.execute(MfaStatusQuery(accounts.signed_in(eve)))
    await mfa.enrolled(eve)
    after = await mfa.status.execute(MfaStatusQuery(accounts.signed_in(eve)))

    assert (before.totp_enabled, before.recovery_codes_remaining) == (False, 0)
    assert (after.totp_enabled, after.recovery_codes_remaining) == (True, 10)


def subjects_mailed(store: InMemoryStore, to: str = EMAIL) -> list[str]:
    return [m.message.subject for m in store.outbox.values() if m.message.to == to]


def subject_of(kind: SecurityNotice) -> str:
    return security_notice_email(EMAIL, kind, datetime.now(UTC)).subject


async def test_turning_totp_on_and_off_and_renewing_codes_each_mail_a_notice(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)
    secret, _ = await mfa.enrolled(eve)
    with pytest.raises(InvalidMfaCode):
        await mfa.renew.execute(
            RenewRecoveryCodesCommand(accounts.signed_in(eve), PASSWORD, "000000")
        )
    codes = await mfa.renew.execute(
        RenewRecoveryCodesCommand(accounts.signed_in(eve), PASSWORD, mfa.code(secret))
    )
    await mfa.disable.execute(DisableTotpCommand(accounts.signed_in(eve), PASSWORD, codes[0]))

    assert subjects_mailed(store) == [
        subject_of(SecurityNotice.TOTP_ENABLED),
        subject_of(SecurityNotice.RECOVERY_CODES_RENEWED),
        subject_of(SecurityNotice.TOTP_DISABLED),
    ]
    mailed = " ".join(m.message.text + m.message.html for m in store.outbox.values())
    assert secret not in mailed
    assert not any(code in mailed for code in codes)


async def test_an_admin_reset_mails_a_notice_that_says_an_admin_did_it(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore, reset_mfa: ResetMfa
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user(EMAIL)
    await mfa.enrolled(eve)
    eve_session = accounts.session(eve)

    await reset_mfa.execute(ResetMfaCommand(accounts.signed_in(root), eve.id))

    assert store.users[eve.id].mfa_enabled is False
    assert store.totp_factors == {}
    assert store.sessions[eve_session.id].revoked_at is not None
    last = list(store.outbox.values())[-1].message
    assert last.subject == subject_of(SecurityNotice.TOTP_DISABLED)
    assert "administrator" in last.text
    with pytest.raises(MfaNotEnabled):
        await reset_mfa.execute(ResetMfaCommand(accounts.signed_in(root), eve.id))


async def test_only_an_admin_resets_someone_s_second_factor(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore, reset_mfa: ResetMfa
) -> None:
    eve = await accounts.user(EMAIL)
    await mfa.enrolled(eve)
    mallory = await accounts.user("mallory@example.com")

    with pytest.raises(Forbidden):
        await reset_mfa.execute(ResetMfaCommand(accounts.signed_in(mallory), eve.id))

    assert store.users[eve.id].mfa_enabled is True


async def test_a_set_up_started_by_a_request_that_authenticated_before_totp_came_on_is_refused(
    mfa: SecondFactor, accounts: Accounts, store: InMemoryStore
) -> None:
    eve = await accounts.user(EMAIL)
    as_authenticated = replace(eve)  # read before TOTP came on
    secret, _ = await mfa.enrolled(eve)

    with pytest.raises(MfaAlreadyEnabled):
        await mfa.start.execute(
            StartTotpSetupCommand(accounts.signed_in(as_authenticated), PASSWORD)
        )

    assert store.totp_factors[eve.id].secret == secret

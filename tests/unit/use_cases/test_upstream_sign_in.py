"""Signing in through an upstream provider with the fakes: every rule of whose account opens
(made, linked, refused), the second factor after it, linking from the console, unlinking, and
every way a callback is refused, each audited and signing nobody in."""

from __future__ import annotations

import uuid
from uuid import UUID

import pytest

from application.audit import AuditEvents
from application.errors import LastLoginMethod, NotFound
from application.ports.upstream import UpstreamFailure, UpstreamIdentity
from application.second_factor import SecondFactorProof
from application.use_cases.passkeys.delete_passkey import DeletePasskey, DeletePasskeyCommand
from application.use_cases.second_factor.complete_mfa_login import CompleteMfaLoginCommand
from application.use_cases.upstream.complete_sign_in import (
    CompleteUpstreamSignIn,
    CompleteUpstreamSignInCommand,
    LinkedUpstream,
    SecondStepUpstream,
    SignedInUpstream,
    UpstreamOutcome,
)
from application.use_cases.upstream.identities import UnlinkIdentity, UnlinkIdentityCommand
from application.use_cases.upstream.refusals import UpstreamRefusal, UpstreamSignInRefused
from application.use_cases.upstream.start_sign_in import (
    StartUpstreamSignIn,
    StartUpstreamSignInCommand,
    UpstreamRedirect,
)
from domain.audit_event import AuditEventType
from domain.auth_method import (
    PASSWORD_AND_TOTP,
    UPSTREAM_ONLY,
    AuthMethod,
)
from domain.linked_identity import LinkedIdentity
from domain.passkey import Passkey
from domain.session import Session, SessionKind
from domain.user import User
from tests.fakes import (
    FakeUnitOfWorkFactory,
    FakeUpstreamProviders,
    FixedClock,
    InMemoryStore,
    RecordingSecurityMetrics,
)
from tests.unit.builders import Accounts, recorded_events
from tests.unit.second_factor import SecondFactor

CALLBACK = "http://localhost:8000/login/corp/callback"
SUBJECT = "248289761001"


def ada_at_corp(
    *, email: str | None = "ada@example.com", verified: bool = True, subject: str = SUBJECT
) -> UpstreamIdentity:
    return UpstreamIdentity(
        provider_id="corp", subject=subject, email=email, email_verified=verified, name="Ada"
    )


class Flow:
    """A browser going through the sign-in: begun here, signed in at the provider, back."""

    def __init__(
        self,
        start: StartUpstreamSignIn,
        complete: CompleteUpstreamSignIn,
        providers: FakeUpstreamProviders,
    ) -> None:
        self.start = start
        self.complete = complete
        self.providers = providers

    async def begin(
        self, *, return_to: str | None = None, linking: UUID | None = None
    ) -> UpstreamRedirect:
        return await self.start.execute(
            StartUpstreamSignInCommand("corp", CALLBACK, return_to, linking)
        )

    def back(
        self, redirect: UpstreamRedirect, code: str | None, **overrides: str | None
    ) -> CompleteUpstreamSignInCommand:
        values: dict[str, str | None] = {
            "state": redirect.state,
            "browser_state": redirect.state,
            "code": code,
            "error": None,
            **overrides,
        }
        return CompleteUpstreamSignInCommand(
            provider_id="corp",
            redirect_uri=CALLBACK,
            state=values["state"],
            browser_state=values["browser_state"],
            code=values["code"],
            error=values["error"],
        )

    async def sign_in(
        self,
        identity: UpstreamIdentity,
        *,
        return_to: str | None = None,
        linking: UUID | None = None,
    ) -> UpstreamOutcome:
        redirect = await self.begin(return_to=return_to, linking=linking)
        code = self.providers.sign_in_at_provider(redirect.state, identity)
        return await self.complete.execute(self.back(redirect, code))

    async def refused(self, command: CompleteUpstreamSignInCommand) -> UpstreamRefusal:
        with pytest.raises(UpstreamSignInRefused) as refused:
            await self.complete.execute(command)
        return refused.value.refusal


@pytest.fixture
def delete_passkey(uow: FakeUnitOfWorkFactory, audit: AuditEvents) -> DeletePasskey:
    return DeletePasskey(uow, audit)


@pytest.fixture
def flow(
    start_upstream: StartUpstreamSignIn,
    complete_upstream: CompleteUpstreamSignIn,
    upstream_providers: FakeUpstreamProviders,
) -> Flow:
    return Flow(start_upstream, complete_upstream, upstream_providers)


def browser_sessions(store: InMemoryStore) -> list[Session]:
    return [s for s in store.sessions.values() if s.kind is SessionKind.BROWSER]


def identities(store: InMemoryStore) -> list[LinkedIdentity]:
    return list(store.linked_identities.values())


def events(store: InMemoryStore, type: AuditEventType) -> list[dict[str, object]]:
    return [e.data for e in recorded_events(store) if e.type is type]


def refusals(store: InMemoryStore) -> list[object]:
    return [data["reason"] for data in events(store, AuditEventType.UPSTREAM_SIGN_IN_FAILED)]


def signed_in_user(store: InMemoryStore, outcome: UpstreamOutcome) -> User:
    assert isinstance(outcome, SignedInUpstream)
    session = store.sessions[outcome.session_id]
    assert session.kind is SessionKind.BROWSER
    return store.users[session.user_id]


# --- whose account opens -----------------------------------------------------------------------


@pytest.mark.parametrize("verified", [True, False])
async def test_a_new_person_gets_a_new_account_without_a_password(
    flow: Flow, store: InMemoryStore, verified: bool, security_metrics: RecordingSecurityMetrics
) -> None:
    outcome = await flow.sign_in(ada_at_corp(verified=verified), return_to="/account")

    user = signed_in_user(store, outcome)
    assert str(user.email) == "ada@example.com"
    assert user.password_hash is None
    assert user.name == "Ada"
    assert user.is_verified is verified
    assert isinstance(outcome, SignedInUpstream)
    assert outcome.return_to == "/account"
    assert store.sessions[outcome.session_id].amr == UPSTREAM_ONLY
    [identity] = identities(store)
    assert (identity.user_id, identity.provider, identity.subject) == (user.id, "corp", SUBJECT)
    [signed_up] = events(store, AuditEventType.SIGNED_UP)
    assert signed_up["via"] == "upstream"
    assert len(events(store, AuditEventType.IDENTITY_LINKED)) == 1
    [login] = events(store, AuditEventType.LOGIN_SUCCEEDED)
    assert login["provider"] == "corp"
    assert security_metrics.logins[-1].value == "success"


async def test_a_returning_subject_opens_its_account_even_with_another_email(
    flow: Flow, store: InMemoryStore
) -> None:
    first = signed_in_user(store, await flow.sign_in(ada_at_corp()))

    again = signed_in_user(store, await flow.sign_in(ada_at_corp(email="ada@new.example.com")))

    assert again.id == first.id
    assert len(store.users) == 1
    [identity] = identities(store)
    assert identity.email == "ada@new.example.com"
    assert str(again.email) == "ada@example.com"  # the account's own email is the person's


async def test_an_account_of_the_same_verified_email_is_linked_when_the_provider_verified_it(
    flow: Flow, store: InMemoryStore, accounts: Accounts
) -> None:
    ada = await accounts.user("ada@example.com", is_verified=True)

    user = signed_in_user(store, await flow.sign_in(ada_at_corp()))

    assert user.id == ada.id
    assert user.password_hash == ada.password_hash
    [identity] = identities(store)
    assert identity.user_id == ada.id
    assert events(store, AuditEventType.SIGNED_UP) == []


@pytest.mark.parametrize(
    ("local_verified", "upstream_verified"),
    [(False, True), (True, False), (False, False)],
    ids=["unverified here", "unverified upstream", "unverified on both sides"],
)
async def test_otherwise_the_owner_must_sign_in_first_and_nothing_changes(
    flow: Flow,
    store: InMemoryStore,
    accounts: Accounts,
    local_verified: bool,
    upstream_verified: bool,
) -> None:
    ada = await accounts.user("ada@example.com", is_verified=local_verified)
    redirect = await flow.begin()
    code = flow.providers.sign_in_at_provider(
        redirect.state, ada_at_corp(verified=upstream_verified)
    )

    refusal = await flow.refused(flow.back(redirect, code))

    assert refusal is UpstreamRefusal.SIGN_IN_FIRST
    assert identities(store) == []
    assert browser_sessions(store) == []
    assert len(store.users) == 1
    [failed] = [
        e for e in recorded_events(store) if e.type is AuditEventType.UPSTREAM_SIGN_IN_FAILED
    ]
    assert failed.user_id == ada.id
    assert failed.data["reason"] == "sign_in_first"


async def test_without_a_link_or_an_email_nobody_is_signed_in(
    flow: Flow, store: InMemoryStore
) -> None:
    redirect = await flow.begin()
    code = flow.providers.sign_in_at_provider(redirect.state, ada_at_corp(email=None))

    assert await flow.refused(flow.back(redirect, code)) is UpstreamRefusal.NO_EMAIL
    assert store.users == {}


async def test_an_email_the_service_cannot_take_counts_as_none(flow: Flow) -> None:
    redirect = await flow.begin()
    code = flow.providers.sign_in_at_provider(redirect.state, ada_at_corp(email="not an email"))

    assert await flow.refused(flow.back(redirect, code)) is UpstreamRefusal.NO_EMAIL


async def test_a_deactivated_account_is_not_signed_in(flow: Flow, store: InMemoryStore) -> None:
    user = signed_in_user(store, await flow.sign_in(ada_at_corp()))
    store.users[user.id].is_active = False
    sessions_before = len(store.sessions)
    redirect = await flow.begin()
    code = flow.providers.sign_in_at_provider(redirect.state, ada_at_corp())

    assert await flow.refused(flow.back(redirect, code)) is UpstreamRefusal.ACCOUNT_DISABLED
    assert len(store.sessions) == sessions_before


async def test_an_account_with_totp_passes_its_second_step_after_the_provider(
    flow: Flow, store: InMemoryStore, accounts: Accounts, mfa: SecondFactor
) -> None:
    ada = await accounts.user("ada@example.com", is_verified=True)
    secret, _ = await mfa.enrolled(ada)

    outcome = await flow.sign_in(ada_at_corp(), return_to="/account")

    assert isinstance(outcome, SecondStepUpstream)
    assert outcome.return_to == "/account"
    assert browser_sessions(store) == []
    await mfa.complete.execute(
        CompleteMfaLoginCommand(
            outcome.mfa_token,
            SecondFactorProof(totp_code=mfa.code(secret)),
            session_kind=SessionKind.BROWSER,
        )
    )
    [session] = browser_sessions(store)
    assert session.user_id == ada.id
    assert session.amr == (
        AuthMethod.FEDERATED,
        AuthMethod.ONE_TIME_PASSWORD,
        AuthMethod.MULTI_FACTOR,
    )


async def test_a_password_sign_in_still_says_pwd_after_its_second_step(
    store: InMemoryStore, accounts: Accounts, mfa: SecondFactor
) -> None:
    eve = await accounts.user(is_verified=True)
    secret, _ = await mfa.enrolled(eve)

    await mfa.second_step(await mfa.mfa_token(), code=mfa.code(secret))

    [session] = [s for s in store.sessions.values() if s.user_id == eve.id]
    assert session.amr == PASSWORD_AND_TOTP


# --- the callback's refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"browser_state": None},
        {"browser_state": "another-browsers-state"},
        {"state": None},
        {"state": "a-state-never-issued", "browser_state": "a-state-never-issued"},
        {"state": "\u2603", "browser_state": "\u2603"},
        {"browser_state": "\u00e9t\u00e9"},
    ],
    ids=["no cookie", "another browser's", "no state", "never issued", "not ascii", "cookie"],
)
async def test_a_state_that_is_not_this_browsers_signs_nobody_in(
    flow: Flow, store: InMemoryStore, overrides: dict[str, str | None]
) -> None:
    redirect = await flow.begin()
    code = flow.providers.sign_in_at_provider(redirect.state, ada_at_corp())

    refusal = await flow.refused(flow.back(redirect, code, **overrides))

    assert refusal is UpstreamRefusal.STATE_MISMATCH
    assert store.users == {}
    assert refusals(store) == ["state_mismatch"]


async def test_a_replayed_callback_is_refused(flow: Flow, store: InMemoryStore) -> None:
    redirect = await flow.begin()
    code = flow.providers.sign_in_at_provider(redirect.state, ada_at_corp())
    await flow.complete.execute(flow.back(redirect, code))

    assert await flow.refused(flow.back(redirect, code)) is UpstreamRefusal.STATE_MISMATCH
    assert len(browser_sessions(store)) == 1


async def test_a_sign_in_left_too_long_is_refused(flow: Flow, clock: FixedClock) -> None:
    redirect = await flow.begin()
    code = flow.providers.sign_in_at_provider(redirect.state, ada_at_corp())
    clock.advance(minutes=10)

    assert await flow.refused(flow.back(redirect, code)) is UpstreamRefusal.STATE_MISMATCH


async def test_a_state_begun_for_another_provider_is_refused(flow: Flow) -> None:
    redirect = await flow.begin()
    code = flow.providers.sign_in_at_provider(redirect.state, ada_at_corp())
    command = flow.back(redirect, code)
    elsewhere = CompleteUpstreamSignInCommand(
        "google", command.redirect_uri, command.state, command.browser_state, code, None
    )

    assert await flow.refused(elsewhere) is UpstreamRefusal.STATE_MISMATCH


async def test_an_error_from_the_provider_signs_nobody_in_and_spends_the_state(flow: Flow) -> None:
    redirect = await flow.begin()

    refusal = await flow.refused(flow.back(redirect, None, error="access_denied"))

    assert refusal is UpstreamRefusal.PROVIDER_ERROR
    assert await flow.refused(flow.back(redirect, "code-1")) is UpstreamRefusal.STATE_MISMATCH


@pytest.mark.parametrize(
    ("failure", "refusal"),
    [
        (UpstreamFailure.UNREACHABLE, UpstreamRefusal.PROVIDER_UNREACHABLE),
        (UpstreamFailure.TOKEN_REFUSED, UpstreamRefusal.TOKEN_REFUSED),
        (UpstreamFailure.INVALID_ID_TOKEN, UpstreamRefusal.INVALID_ID_TOKEN),
    ],
)
async def test_what_goes_wrong_at_the_provider_is_said_and_audited(
    flow: Flow, store: InMemoryStore, failure: UpstreamFailure, refusal: UpstreamRefusal
) -> None:
    redirect = await flow.begin()
    code = flow.providers.sign_in_at_provider(redirect.state, ada_at_corp())
    flow.providers.failure = failure

    assert await flow.refused(flow.back(redirect, code)) is refusal
    assert store.users == {}
    assert refusals(store) == [refusal.value]


async def test_a_made_up_code_is_refused_by_the_provider(flow: Flow) -> None:
    redirect = await flow.begin()

    assert await flow.refused(flow.back(redirect, "made-up")) is UpstreamRefusal.TOKEN_REFUSED


async def test_an_unknown_provider_is_not_found_at_the_start_and_refused_at_the_callback(
    flow: Flow, store: InMemoryStore
) -> None:
    with pytest.raises(NotFound):
        await flow.start.execute(StartUpstreamSignInCommand("gitlab", CALLBACK))
    command = CompleteUpstreamSignInCommand("gitlab", CALLBACK, "s", "s", "code", None)

    assert await flow.refused(command) is UpstreamRefusal.UNKNOWN_PROVIDER
    assert store.upstream_sign_ins == {}


async def test_an_unreachable_provider_starts_nothing(flow: Flow, store: InMemoryStore) -> None:
    flow.providers.failure = UpstreamFailure.UNREACHABLE

    with pytest.raises(UpstreamSignInRefused) as refused:
        await flow.begin()

    assert refused.value.refusal is UpstreamRefusal.PROVIDER_UNREACHABLE
    assert refused.value.provider_name == "Corp SSO"
    assert store.upstream_sign_ins == {}


# --- linking from the console, and unlinking ---------------------------------------------------


async def test_a_signed_in_person_links_an_upstream_account_whatever_its_email(
    flow: Flow, store: InMemoryStore, accounts: Accounts
) -> None:
    eve = await accounts.user("eve@example.com")

    outcome = await flow.sign_in(
        ada_at_corp(email="eve.at.work@corp.example.com", verified=False),
        return_to="/account",
        linking=eve.id,
    )

    assert outcome == LinkedUpstream(provider_name="Corp SSO", return_to="/account")
    [identity] = identities(store)
    assert identity.user_id == eve.id
    assert browser_sessions(store) == []
    again = await flow.sign_in(ada_at_corp(), linking=eve.id)
    assert isinstance(again, LinkedUpstream)
    assert len(identities(store)) == 1


async def test_an_upstream_account_linked_to_another_account_is_not_linked_again(
    flow: Flow, store: InMemoryStore, accounts: Accounts
) -> None:
    signed_in_user(store, await flow.sign_in(ada_at_corp()))
    eve = await accounts.user("eve@example.com")
    redirect = await flow.begin(linking=eve.id)
    code = flow.providers.sign_in_at_provider(redirect.state, ada_at_corp())

    assert await flow.refused(flow.back(redirect, code)) is UpstreamRefusal.LINKED_ELSEWHERE
    assert [i.user_id for i in identities(store)] != [eve.id]


async def test_an_identity_is_unlinked_while_a_password_remains(
    flow: Flow, store: InMemoryStore, accounts: Accounts, unlink_identity: UnlinkIdentity
) -> None:
    eve = await accounts.user("eve@example.com")
    await flow.sign_in(ada_at_corp(), linking=eve.id)
    [identity] = identities(store)

    await unlink_identity.execute(UnlinkIdentityCommand(accounts.signed_in(eve), identity.id))

    assert identities(store) == []
    [unlinked] = events(store, AuditEventType.IDENTITY_UNLINKED)
    assert unlinked["provider"] == "corp"


async def test_the_last_way_in_is_not_unlinked(
    flow: Flow, store: InMemoryStore, accounts: Accounts, unlink_identity: UnlinkIdentity
) -> None:
    ada = signed_in_user(store, await flow.sign_in(ada_at_corp()))
    [identity] = identities(store)

    with pytest.raises(LastLoginMethod):
        await unlink_identity.execute(UnlinkIdentityCommand(accounts.signed_in(ada), identity.id))

    assert identities(store) == [identity]


async def test_of_two_identities_one_may_go_but_not_both(
    flow: Flow, store: InMemoryStore, accounts: Accounts, unlink_identity: UnlinkIdentity
) -> None:
    ada = signed_in_user(store, await flow.sign_in(ada_at_corp()))
    await flow.sign_in(ada_at_corp(subject="second-account"), linking=ada.id)
    first, second = identities(store)

    await unlink_identity.execute(UnlinkIdentityCommand(accounts.signed_in(ada), first.id))
    with pytest.raises(LastLoginMethod):
        await unlink_identity.execute(UnlinkIdentityCommand(accounts.signed_in(ada), second.id))

    assert identities(store) == [second]


async def test_another_accounts_identity_is_not_found(
    flow: Flow, store: InMemoryStore, accounts: Accounts, unlink_identity: UnlinkIdentity
) -> None:
    signed_in_user(store, await flow.sign_in(ada_at_corp()))
    eve = await accounts.user("eve@example.com")
    [identity] = identities(store)

    with pytest.raises(NotFound):
        await unlink_identity.execute(UnlinkIdentityCommand(accounts.signed_in(eve), identity.id))

    assert identities(store) == [identity]


def a_passkey_of(user: User, clock: FixedClock) -> Passkey:
    passkey = Passkey(
        id=uuid.uuid4(),
        user_id=user.id,
        credential_id=b"credential-" + user.id.bytes,
        public_key=b"cose-key",
        sign_count=0,
        name="Phone",
        backed_up=True,
        transports=("internal",),
        created_at=clock.now(),
    )
    return passkey


async def test_a_passwordless_account_keeps_its_last_passkey_or_identity_but_not_both(
    flow: Flow,
    store: InMemoryStore,
    accounts: Accounts,
    clock: FixedClock,
    delete_passkey: DeletePasskey,
    unlink_identity: UnlinkIdentity,
) -> None:
    ada = signed_in_user(store, await flow.sign_in(ada_at_corp()))
    passkey = a_passkey_of(ada, clock)
    store.passkeys[passkey.id] = passkey
    [identity] = identities(store)
    signed_in = accounts.signed_in(ada)

    await delete_passkey.execute(DeletePasskeyCommand(signed_in, passkey.id))
    assert store.passkeys == {}
    store.passkeys[passkey.id] = passkey
    await unlink_identity.execute(UnlinkIdentityCommand(signed_in, identity.id))
    with pytest.raises(LastLoginMethod):
        await delete_passkey.execute(DeletePasskeyCommand(signed_in, passkey.id))

    assert list(store.passkeys) == [passkey.id]

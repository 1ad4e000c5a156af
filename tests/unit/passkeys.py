"""The passkey use cases over the fakes, with py_webauthn's adapter and the software
authenticator answering as a browser would: one object a test drives the ceremonies through."""

from __future__ import annotations

from typing import Any

from adapters.security.webauthn_ceremonies import PyWebAuthnCeremonies
from application.audit import AuditEvents
from application.caller import Principal
from application.ports.security import WebAuthn
from application.tokens import TokenPair
from application.use_cases.passkeys.begin_passkey_registration import (
    BeginPasskeyRegistration,
    BeginPasskeyRegistrationCommand,
)
from application.use_cases.passkeys.begin_passkey_sign_in import (
    BeginPasskeySignIn,
    BeginPasskeySignInCommand,
)
from application.use_cases.passkeys.common import PasskeyCeremony, PasskeyView
from application.use_cases.passkeys.delete_passkey import DeletePasskey
from application.use_cases.passkeys.list_passkeys import ListPasskeys
from application.use_cases.passkeys.register_passkey import (
    RegisterPasskey,
    RegisterPasskeyCommand,
)
from application.use_cases.passkeys.rename_passkey import RenamePasskey
from application.use_cases.passkeys.sign_in_with_passkey import (
    SignInWithPasskey,
    SignInWithPasskeyCommand,
)
from domain.session import SessionKind
from tests.fakes import (
    FakeAccessTokens,
    FakePasswordHasher,
    FakeUnitOfWorkFactory,
    FixedClock,
    RecordingSecurityMetrics,
    SequentialIds,
)
from tests.unit.builders import LIFETIMES, PASSWORD
from tests.webauthn_authenticator import SoftwareAuthenticator

RP_ID = "id.example.com"
ORIGIN = "https://id.example.com"


def ceremonies() -> PyWebAuthnCeremonies:
    return PyWebAuthnCeremonies(rp_id=RP_ID, rp_name="Portcullis", origin=ORIGIN)


class Passkeys:
    def __init__(
        self,
        uow: FakeUnitOfWorkFactory,
        hasher: FakePasswordHasher,
        tokens: FakeAccessTokens,
        clock: FixedClock,
        ids: SequentialIds,
        audit: AuditEvents,
        metrics: RecordingSecurityMetrics,
        webauthn: WebAuthn | None = None,
    ) -> None:
        webauthn = webauthn or ceremonies()
        self.begin_registration = BeginPasskeyRegistration(uow, hasher, webauthn, clock, ids)
        self.register = RegisterPasskey(uow, webauthn, clock, ids, audit)
        self.list = ListPasskeys(uow)
        self.rename = RenamePasskey(uow, audit)
        self.delete = DeletePasskey(uow, audit)
        self.begin_sign_in = BeginPasskeySignIn(uow, webauthn, clock, ids)
        self.sign_in_with = SignInWithPasskey(
            uow, webauthn, tokens, clock, ids, LIFETIMES, audit, metrics
        )

    async def creation_options(
        self, principal: Principal, password: str = PASSWORD
    ) -> PasskeyCeremony:
        return await self.begin_registration.execute(
            BeginPasskeyRegistrationCommand(principal, password)
        )

    async def add(
        self,
        principal: Principal,
        authenticator: SoftwareAuthenticator,
        *,
        password: str = PASSWORD,
        **knobs: Any,
    ) -> PasskeyView:
        ceremony = await self.creation_options(principal, password)
        credential = authenticator.register(ceremony.public_key, ORIGIN, **knobs)
        return await self.register.execute(
            RegisterPasskeyCommand(principal, ceremony.challenge_id, credential)
        )

    async def request_options(self) -> PasskeyCeremony:
        return await self.begin_sign_in.execute(BeginPasskeySignInCommand())

    async def sign_in(
        self,
        authenticator: SoftwareAuthenticator,
        *,
        origin: str = ORIGIN,
        session_kind: SessionKind = SessionKind.API,
        **knobs: Any,
    ) -> TokenPair:
        ceremony = await self.request_options()
        credential = authenticator.authenticate(ceremony.public_key, origin, **knobs)
        return await self.sign_in_with.execute(
            SignInWithPasskeyCommand(ceremony.challenge_id, credential, session_kind=session_kind)
        )

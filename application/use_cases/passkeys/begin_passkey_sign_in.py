from __future__ import annotations

from dataclasses import dataclass

from application.caller import NO_CALLER, Caller
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import WebAuthn
from application.ports.system import Clock, IdGenerator
from application.use_cases.passkeys.common import PasskeyCeremony
from domain.passkey import CHALLENGE_LIFETIME, ChallengePurpose, WebAuthnChallenge


@dataclass(frozen=True, slots=True)
class BeginPasskeySignInCommand:
    caller: Caller = NO_CALLER


class BeginPasskeySignIn:
    """Request options for a sign-in with any passkey of this relying party: no email is asked,
    so the answer says nothing about which accounts exist or have passkeys."""

    def __init__(
        self, uow: UnitOfWorkFactory, webauthn: WebAuthn, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow = uow
        self._webauthn = webauthn
        self._clock = clock
        self._ids = ids

    async def execute(self, _command: BeginPasskeySignInCommand) -> PasskeyCeremony:
        options = self._webauthn.authentication_options()
        now = self._clock.now()
        challenge = WebAuthnChallenge(
            id=self._ids.new_id(),
            purpose=ChallengePurpose.AUTHENTICATION,
            challenge=options.challenge,
            user_id=None,
            created_at=now,
            expires_at=now + CHALLENGE_LIFETIME,
        )
        async with self._uow() as uow:
            await uow.webauthn_challenges.add(challenge)
            await uow.commit()
        return PasskeyCeremony(challenge.id, options.public_key)

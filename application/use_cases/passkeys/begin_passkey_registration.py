from __future__ import annotations

from dataclasses import dataclass

from application.caller import Principal
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import ExistingCredential, PasswordHasher, WebAuthn
from application.ports.system import Clock, IdGenerator
from application.use_cases.passkeys.common import PasskeyCeremony, user_handle
from application.use_cases.second_factor.common import prove_current_password
from domain.passkey import CHALLENGE_LIFETIME, ChallengePurpose, WebAuthnChallenge


@dataclass(frozen=True, slots=True)
class BeginPasskeyRegistrationCommand:
    principal: Principal
    current_password: str


class BeginPasskeyRegistration:
    """Creation options for a new passkey of the signed-in account, after its current password:
    a passkey signs in on its own, so adding one is as sensitive as changing the password. The
    account's passkeys are excluded, so an authenticator does not make a second one for it."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        webauthn: WebAuthn,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._webauthn = webauthn
        self._clock = clock
        self._ids = ids

    async def execute(self, command: BeginPasskeyRegistrationCommand) -> PasskeyCeremony:
        user = command.principal.user
        await prove_current_password(self._hasher, command.principal, command.current_password)
        now = self._clock.now()
        async with self._uow() as uow:
            existing = await uow.passkeys.list_of_user(user.id)
            options = self._webauthn.registration_options(
                user_handle=user_handle(user.id),
                user_name=user.email.value,
                display_name=user.name or user.email.value,
                exclude=[ExistingCredential(p.credential_id, p.transports) for p in existing],
            )
            challenge = WebAuthnChallenge(
                id=self._ids.new_id(),
                purpose=ChallengePurpose.REGISTRATION,
                challenge=options.challenge,
                user_id=user.id,
                created_at=now,
                expires_at=now + CHALLENGE_LIFETIME,
            )
            await uow.webauthn_challenges.add(challenge)
            await uow.commit()
        return PasskeyCeremony(challenge.id, options.public_key)

from __future__ import annotations

from dataclasses import dataclass

from application.caller import Principal
from application.errors import MfaAlreadyEnabled
from application.ports.persistence import UnitOfWorkFactory
from application.ports.security import PasswordHasher, QrCodes, TotpAuthenticator
from application.ports.system import Clock
from application.use_cases.second_factor.common import prove_current_password
from domain.second_factor import TotpFactor


@dataclass(frozen=True, slots=True)
class StartTotpSetupCommand:
    principal: Principal
    current_password: str


@dataclass(frozen=True, slots=True)
class TotpSetup:
    secret: str
    otpauth_uri: str
    qr_svg: str


class StartTotpSetup:
    """A new secret for the person's authenticator app. Nothing changes for their logins until
    a code from the app confirms it; starting again replaces the secret not yet confirmed."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        authenticator: TotpAuthenticator,
        qr_codes: QrCodes,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._authenticator = authenticator
        self._qr_codes = qr_codes
        self._clock = clock

    async def execute(self, command: StartTotpSetupCommand) -> TotpSetup:
        user = command.principal.user
        if user.mfa_enabled:
            raise MfaAlreadyEnabled()
        await prove_current_password(self._hasher, command.principal, command.current_password)
        secret = self._authenticator.new_secret()
        async with self._uow() as uow:
            # Refuses, in the same statement, an account whose TOTP came on since it was read.
            await uow.totp.put_pending(
                TotpFactor(user_id=user.id, secret=secret, created_at=self._clock.now())
            )
            await uow.commit()
        uri = self._authenticator.provisioning_uri(secret, user.email.value)
        return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=self._qr_codes.svg(uri))

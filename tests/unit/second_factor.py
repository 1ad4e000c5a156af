"""Every use case of the second factor over one set of fakes, and the steps tests repeat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest

from application.errors import MfaRequired
from application.second_factor import SecondFactorProof
from application.use_cases.log_in import LogIn, LogInCommand
from application.use_cases.second_factor.complete_mfa_login import (
    CompleteMfaLogin,
    CompleteMfaLoginCommand,
)
from application.use_cases.second_factor.confirm_totp import ConfirmTotp, ConfirmTotpCommand
from application.use_cases.second_factor.disable_totp import DisableTotp
from application.use_cases.second_factor.mfa_status import GetMfaStatus
from application.use_cases.second_factor.renew_recovery_codes import RenewRecoveryCodes
from application.use_cases.second_factor.start_totp_setup import (
    StartTotpSetup,
    StartTotpSetupCommand,
)
from domain.session import SessionKind
from domain.user import User
from tests.fakes import FixedClock
from tests.unit.builders import PASSWORD, Accounts

EMAIL = "eve@example.com"


@dataclass
class SecondFactor:
    """Every use case of the second factor over one set of fakes."""

    start: StartTotpSetup
    confirm: ConfirmTotp
    disable: DisableTotp
    renew: RenewRecoveryCodes
    status: GetMfaStatus
    log_in: LogIn
    complete: CompleteMfaLogin
    clock: FixedClock
    accounts: Accounts

    def code(self, secret: str, steps_ahead: int = 0) -> str:
        """What the app shows now (or that many 30-second steps from now)."""
        at = self.clock.now() + timedelta(seconds=30 * steps_ahead)
        return pyotp.TOTP(secret).at(at)

    async def enrolled(self, user: User, password: str = PASSWORD) -> tuple[str, list[str]]:
        """TOTP turned on for the user: its secret and recovery codes."""
        setup = await self.start.execute(
            StartTotpSetupCommand(self.accounts.signed_in(user), password)
        )
        codes = await self.confirm.execute(
            ConfirmTotpCommand(self.accounts.signed_in(user), self.code(setup.secret))
        )
        self.clock.advance(seconds=30)  # the confirming code's step is spent
        user.mfa_enabled = True
        return setup.secret, codes

    async def mfa_token(self, email: str = EMAIL, password: str = PASSWORD) -> str:
        with pytest.raises(MfaRequired) as required:
            await self.log_in.execute(LogInCommand(email, password))
        return required.value.mfa_token

    async def second_step(
        self,
        token: str,
        *,
        code: str = "",
        recovery_code: str = "",
        session_kind: SessionKind = SessionKind.API,
    ) -> str:
        """The second step; the access token of the session it opens."""
        proof = (
            SecondFactorProof(recovery_code=recovery_code)
            if recovery_code
            else SecondFactorProof(totp_code=code)
        )
        command = CompleteMfaLoginCommand(token, proof, session_kind=session_kind)
        pair = await self.complete.execute(command)
        return pair.access_token

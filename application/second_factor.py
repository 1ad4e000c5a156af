"""Accepting a second factor inside a unit of work: a TOTP code of a step never accepted
before, or an unused recovery code, each used up by one atomic statement so that two requests
carrying the same code cannot both succeed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from application.ports.persistence import UnitOfWork
from application.ports.security import TotpAuthenticator
from application.recovery_codes import matching_recovery_code
from domain.auth_method import PASSWORD_AND_RECOVERY_CODE, PASSWORD_AND_TOTP, AuthMethods
from domain.second_factor import TotpFactor

_TOTP_CODE = re.compile(r"[0-9]{6}")


@dataclass(frozen=True, slots=True)
class SecondFactorProof:
    """What the person typed: a TOTP code or a recovery code."""

    totp_code: str | None = None
    recovery_code: str | None = None

    @classmethod
    def of_code(cls, code: str) -> SecondFactorProof:
        """One field that takes either: six digits are a TOTP code, anything else a recovery
        code (those are letters and digits in groups)."""
        compact = "".join(code.split())
        if _TOTP_CODE.fullmatch(compact):
            return cls(totp_code=compact)
        return cls(recovery_code=code)


async def accept_second_factor(
    uow: UnitOfWork,
    authenticator: TotpAuthenticator,
    factor: TotpFactor,
    proof: SecondFactorProof,
    now: datetime,
) -> AuthMethods | None:
    """The methods the proof adds to a password, with the code now used up; None when it is
    wrong or was already used."""
    if proof.totp_code is not None:
        step = authenticator.matching_step(factor.secret, proof.totp_code, now)
        if step is None or not factor.accepts_step(step):
            return None
        if not await uow.totp.accept_step(factor.user_id, step):
            return None
        return PASSWORD_AND_TOTP
    if proof.recovery_code is not None:
        unused = await uow.recovery_codes.unused(factor.user_id)
        code = matching_recovery_code(proof.recovery_code, unused)
        if code is None or not await uow.recovery_codes.use(code.id, now):
            return None
        return PASSWORD_AND_RECOVERY_CODE
    return None

"""What the second-factor use cases share: proving the current password, and a new set of
recovery codes."""

from __future__ import annotations

from datetime import datetime

from application.caller import Principal
from application.errors import (
    InvalidAccessToken,
    InvalidCurrentPassword,
    InvalidMfaCode,
    MfaNotEnabled,
    NotFound,
)
from application.ports.persistence import UnitOfWork
from application.ports.security import PasswordHasher, TotpAuthenticator
from application.ports.system import IdGenerator
from application.recovery_codes import hash_recovery_code, new_recovery_code
from application.second_factor import SecondFactorProof, accept_second_factor
from domain.second_factor import RECOVERY_CODE_COUNT, RecoveryCode
from domain.user import User


async def prove_current_password(
    hasher: PasswordHasher, principal: Principal, password: str
) -> None:
    """A stolen access token alone must not change the second factor. The hash is the one the
    authentication read this request; hashing holds no connection."""
    if not await hasher.verify(password, principal.user.password_hash):
        raise InvalidCurrentPassword()


async def save_own_account(uow: UnitOfWork, user: User) -> None:
    """Save the signed-in person's account; deleted since authentication reads as a refused
    token, as for any other request of theirs."""
    try:
        await uow.users.save(user)
    except NotFound:
        raise InvalidAccessToken() from None


def new_recovery_codes(
    ids: IdGenerator, principal: Principal, now: datetime
) -> tuple[list[str], list[RecoveryCode]]:
    """The codes to show once, and what is stored of them."""
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    stored = [
        RecoveryCode(
            id=ids.new_id(),
            user_id=principal.user.id,
            code_hash=hash_recovery_code(code),
            created_at=now,
        )
        for code in codes
    ]
    return codes, stored


async def prove_second_factor(
    uow: UnitOfWork,
    authenticator: TotpAuthenticator,
    principal: Principal,
    code: str,
    now: datetime,
) -> None:
    """Inside the unit of work that makes the change: the account's TOTP is on, and `code` (a
    TOTP code or a recovery code) is right and now used up."""
    factor = await uow.totp.get(principal.user.id)
    if factor is None or not factor.is_enabled:
        raise MfaNotEnabled()
    proof = SecondFactorProof.of_code(code)
    if await accept_second_factor(uow, authenticator, factor, proof, now) is None:
        raise InvalidMfaCode()

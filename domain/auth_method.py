"""How a person proved who they are when a session was opened: RFC 8176's method references,
as the `amr` claim carries them."""

from __future__ import annotations

from enum import StrEnum


class AuthMethod(StrEnum):
    # The names of methods, not passwords: S105 mistakes them for hard-coded ones.
    PASSWORD = "pwd"  # noqa: S105
    ONE_TIME_PASSWORD = "otp"  # noqa: S105 (a TOTP code)
    HARDWARE_KEY = "hwk"  # a passkey
    MULTI_FACTOR = "mfa"  # two factors were proven
    # Signed in at an upstream OpenID provider. Not among RFC 8176's values, which name no
    # federated method; "fed" is the one identity providers commonly use for it.
    FEDERATED = "fed"


AuthMethods = tuple[AuthMethod, ...]

PASSWORD_ONLY: AuthMethods = (AuthMethod.PASSWORD,)
PASSWORD_AND_TOTP: AuthMethods = (
    AuthMethod.PASSWORD,
    AuthMethod.ONE_TIME_PASSWORD,
    AuthMethod.MULTI_FACTOR,
)
# A recovery code stands in for the TOTP code: a second factor, though not a one-time password
# of RFC 8176's kind.
PASSWORD_AND_RECOVERY_CODE: AuthMethods = (AuthMethod.PASSWORD, AuthMethod.MULTI_FACTOR)
UPSTREAM_ONLY: AuthMethods = (AuthMethod.FEDERATED,)
# A passkey with user verification: something held and something known or been (the PIN or
# the biometric that unlocked it), two factors in one gesture.
PASSKEY: AuthMethods = (AuthMethod.HARDWARE_KEY, AuthMethod.MULTI_FACTOR)


def after_second_step(first_factor: AuthMethods, second_step: AuthMethods) -> AuthMethods:
    """The methods of a sign-in whose first step was `first_factor`, once its second step
    passed: `second_step` names a password first (PASSWORD_AND_TOTP, say), which gives way to
    how the first step was actually passed."""
    return (*first_factor, *(m for m in second_step if m is not AuthMethod.PASSWORD))

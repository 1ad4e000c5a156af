"""TOTP by pyotp: RFC 6238 with the parameters every authenticator app assumes."""

from __future__ import annotations

from datetime import datetime

import pyotp
from pyotp.utils import strings_equal

SECRET_LENGTH = 32  # base32 characters: 160 bits, RFC 4226's recommended length
DRIFT_STEPS = 1  # a phone's clock may be one 30-second step off either way
# pyotp leaves these out of the URI when they are the defaults; some apps read them anyway.
_EXPLICIT_PARAMETERS = "&algorithm=SHA1&digits=6&period=30"


class PyotpTotpAuthenticator:
    def __init__(self, issuer: str) -> None:
        self._issuer = issuer

    def new_secret(self) -> str:
        return pyotp.random_base32(length=SECRET_LENGTH)

    def matching_step(self, secret: str, code: str, at: datetime) -> int | None:
        if len(code) != 6 or not code.isascii() or not code.isdigit():
            return None
        totp = pyotp.TOTP(secret)
        step = totp.timecode(at)
        # Every step of the window is compared, matching or not, so the time taken does not
        # say which one matched.
        matched = None
        for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
            if strings_equal(code, totp.generate_otp(candidate)):
                matched = candidate
        return matched

    def provisioning_uri(self, secret: str, account: str) -> str:
        uri = pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=self._issuer)
        return uri + _EXPLICIT_PARAMETERS

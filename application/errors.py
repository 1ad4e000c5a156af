"""Errors a use case raises; the entrypoints map each to a status and a stable code."""


class ApplicationError(Exception):
    """A use case refused the request."""


class EmailAlreadyRegistered(ApplicationError):
    def __init__(self) -> None:
        super().__init__("another account uses this email address")


class InvalidCredentials(ApplicationError):
    def __init__(self) -> None:
        super().__init__("the email or password is wrong")


class AccountDisabled(ApplicationError):
    def __init__(self) -> None:
        super().__init__("this account is deactivated")


class InvalidAccessToken(ApplicationError):
    def __init__(self) -> None:
        super().__init__("the access token is invalid or expired")


class InvalidCurrentPassword(ApplicationError):
    def __init__(self) -> None:
        super().__init__("the current password is wrong")


class StorageUnavailable(ApplicationError):
    def __init__(self) -> None:
        super().__init__("the database is unavailable; try again shortly")


class InvalidRefreshToken(ApplicationError):
    def __init__(self) -> None:
        super().__init__("the refresh token is invalid, expired or revoked")


class RefreshTokenReused(ApplicationError):
    def __init__(self) -> None:
        super().__init__("this refresh token was already used; its session is now revoked")


class NotFound(ApplicationError):
    def __init__(self, what: str = "resource") -> None:
        super().__init__(f"no such {what}")


class InvalidOrExpiredToken(ApplicationError):
    def __init__(self) -> None:
        super().__init__("this link is invalid, was already used, or has expired")


class Forbidden(ApplicationError):
    def __init__(self) -> None:
        super().__init__("your role does not allow this")


class LastAdmin(ApplicationError):
    def __init__(self) -> None:
        super().__init__("this change would leave no active admin")


class InvalidCursor(ApplicationError):
    def __init__(self) -> None:
        super().__init__("the cursor is not one this service gave out")


class NewAccountNeedsPassword(ApplicationError):
    def __init__(self) -> None:
        super().__init__("there is no account with this email yet: give a password to create it")


class TooManyRequests(ApplicationError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many requests; try again later")
        self.retry_after_seconds = retry_after_seconds


class MfaRequired(ApplicationError):
    """The password was right and the account has a second factor: no session yet, but a
    token for the second step."""

    def __init__(self, mfa_token: str, methods: tuple[str, ...]) -> None:
        super().__init__("this account needs a second factor: send a code to /auth/mfa")
        self.mfa_token = mfa_token
        self.methods = methods


class InvalidMfaToken(ApplicationError):
    def __init__(self) -> None:
        super().__init__("the mfa_token is invalid, expired or spent: log in again")


class InvalidMfaCode(ApplicationError):
    def __init__(self) -> None:
        super().__init__("the code is wrong, expired or already used")


class MfaAlreadyEnabled(ApplicationError):
    def __init__(self) -> None:
        super().__init__("TOTP is already on for this account")


class MfaNotEnabled(ApplicationError):
    def __init__(self) -> None:
        super().__init__("TOTP is not on for this account")


class CurrentPasswordRequired(ApplicationError):
    """A change that needs the current password came without it."""

    def __init__(self) -> None:
        super().__init__("this change needs the current password")


class InvalidPasskey(ApplicationError):
    """A passkey registration that does not verify, or whose credential is registered already."""

    def __init__(self) -> None:
        super().__init__("the passkey could not be verified")


class LastLoginMethod(ApplicationError):
    def __init__(self) -> None:
        super().__init__("the change would leave the account no way to sign in")


class PasskeyAlreadyRegistered(InvalidPasskey):
    """The credential id is stored already (for this account or another)."""


class IdentityAlreadyLinked(ApplicationError):
    """The upstream account is linked to a local account already (this one or another)."""

    def __init__(self) -> None:
        super().__init__("this account at the provider is linked already")


class InvalidWebhook(ApplicationError):
    """A registration or a change of a webhook that breaks a rule; the message names the
    field."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class UnsafeWebhookTarget(ApplicationError):
    """The url is not https, or its host resolves to an address that is not public."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"url: {reason}")

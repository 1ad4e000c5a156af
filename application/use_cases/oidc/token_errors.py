"""The errors of the token endpoint (RFC 6749 §5.2), which a client's library reads by their
`error` code: the HTTP layer writes them as that JSON, not as the API's problem documents."""

from __future__ import annotations

from enum import StrEnum

from application.errors import ApplicationError


class TokenError(StrEnum):
    INVALID_REQUEST = "invalid_request"
    INVALID_CLIENT = "invalid_client"
    INVALID_GRANT = "invalid_grant"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    INVALID_SCOPE = "invalid_scope"


class TokenRequestRefused(ApplicationError):
    """`basic_challenge`: the client tried HTTP Basic and failed, so the answer challenges it
    to try again the same way (RFC 6749 §5.2, invalid_client)."""

    def __init__(self, error: TokenError, description: str, *, basic_challenge: bool = False):
        super().__init__(description)
        self.error = error
        self.description = description
        self.basic_challenge = basic_challenge


def invalid_request(description: str) -> TokenRequestRefused:
    return TokenRequestRefused(TokenError.INVALID_REQUEST, description)


def invalid_grant(description: str) -> TokenRequestRefused:
    return TokenRequestRefused(TokenError.INVALID_GRANT, description)

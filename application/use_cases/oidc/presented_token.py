"""The token a client hands back to revoke it (RFC 7009 §2.1) or ask about it (RFC 7662 §2.1).

Its `token_type_hint` is accepted and never needed: the two kinds cannot be mistaken for each
other. An access token is a JWS in compact form (three parts joined by dots); a refresh token is
URL-safe base64, which has no dot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from application.use_cases.oidc.token_endpoint import single_values
from application.use_cases.oidc.token_errors import invalid_request


class TokenKind(StrEnum):
    """Named as RFC 7009's token type hints name them."""

    ACCESS_TOKEN = "access_token"  # noqa: S105 (a kind's name)
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 (a kind's name)


@dataclass(frozen=True, slots=True)
class PresentedToken:
    text: str

    @classmethod
    def from_parameters(cls, parameters: Sequence[tuple[str, str]]) -> PresentedToken:
        """invalid_request without `token`, or with a parameter sent twice."""
        text = single_values(parameters).get("token")
        if text is None:
            raise invalid_request("token is required")
        return cls(text)

    @property
    def kind(self) -> TokenKind:
        """What the token can only be, by its shape (whether it is one is for its checks)."""
        if self.text.count(".") == 2:
            return TokenKind.ACCESS_TOKEN
        return TokenKind.REFRESH_TOKEN

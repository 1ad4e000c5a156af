"""The token endpoint (RFC 6749 §3.2): a request's parameters read once each, and handed to the
grant its `grant_type` names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from application.caller import NO_CALLER, Caller
from application.use_cases.oidc.client_authentication import ClientCredentials
from application.use_cases.oidc.exchange_code import CodeExchange
from application.use_cases.oidc.refresh_oauth_tokens import OAuthRefresh
from application.use_cases.oidc.token_errors import TokenError, TokenRequestRefused, invalid_request
from application.use_cases.oidc.token_response import OAuthTokenResponse

MAX_PARAMETER_LENGTH = 4000


@dataclass(frozen=True, slots=True)
class TokenCommand:
    """`parameters`: the form's, as sent (a name may repeat). `credentials`: the client's, as
    the one authentication method it used presented them; None when it used none."""

    parameters: Sequence[tuple[str, str]]
    credentials: ClientCredentials | None
    caller: Caller = NO_CALLER


class RequestTokens:
    def __init__(self, code_exchange: CodeExchange, refresh: OAuthRefresh) -> None:
        self._code_exchange = code_exchange
        self._refresh = refresh

    async def execute(self, command: TokenCommand) -> OAuthTokenResponse:
        parameters = single_values(command.parameters)
        grant_type = parameters.get("grant_type")
        if grant_type is None:
            raise invalid_request("grant_type is required")
        if grant_type == "authorization_code":
            return await self._code_exchange.exchange(
                command.credentials, parameters, command.caller
            )
        if grant_type == "refresh_token":
            return await self._refresh.refresh(command.credentials, parameters, command.caller)
        raise TokenRequestRefused(
            TokenError.UNSUPPORTED_GRANT_TYPE,
            "grant_type must be authorization_code or refresh_token",
        )


def single_values(parameters: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Each parameter's value. An empty one counts as left out, and none may be sent twice
    (RFC 6749 §3.2)."""
    values: dict[str, str] = {}
    for name, value in parameters:
        if not value:
            continue
        if name in values:
            raise invalid_request(f"{name} must be sent once")
        if len(value) > MAX_PARAMETER_LENGTH:
            raise invalid_request(f"{name} is too long")
        values[name] = value
    return values

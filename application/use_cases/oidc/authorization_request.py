"""An authorization request (OpenID Connect Core §3.1.2.1) read from its raw parameters, and
everything wrong with it sorted by whom it may be told to: the person at the browser, when the
request names no client or no redirect URI registered for it (a redirect there could deliver
anything anywhere), or the client, at its registered redirect URI, for everything else."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.authorization_code import MAX_NONCE_LENGTH
from domain.oauth_client import OAuthClient
from domain.oauth_scope import InvalidScope, Scopes, parse_scope
from domain.pkce import is_valid_s256_challenge

Parameters = Sequence[tuple[str, str]]

MAX_STATE_LENGTH = 1000
MAX_LOGIN_HINT_LENGTH = 254
# Ten digits of seconds are three centuries: anything longer is not an age.
_MAX_AGE_DIGITS = 10
_ONCE_ONLY = (
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "response_mode",
)


class Prompt(StrEnum):
    NONE = "none"
    LOGIN = "login"
    CONSENT = "consent"
    # One account per browser: there is nothing to select, and asking is not an error.
    SELECT_ACCOUNT = "select_account"


class AuthorizationError(StrEnum):
    """The `error` codes a client may receive at its redirect URI."""

    INVALID_REQUEST = "invalid_request"
    UNSUPPORTED_RESPONSE_TYPE = "unsupported_response_type"
    INVALID_SCOPE = "invalid_scope"
    LOGIN_REQUIRED = "login_required"
    CONSENT_REQUIRED = "consent_required"
    ACCESS_DENIED = "access_denied"
    REQUEST_NOT_SUPPORTED = "request_not_supported"
    REQUEST_URI_NOT_SUPPORTED = "request_uri_not_supported"


class UnusableRequest(Exception):
    """Nothing may be redirected: the person is told on a page. The message is for them."""


class RefusedRequest(Exception):
    """A request refused at the registered redirect URI, with the state to echo (None when it
    was absent or itself the problem)."""

    def __init__(
        self, redirect_uri: str, error: AuthorizationError, description: str, state: str | None
    ) -> None:
        super().__init__(description)
        self.redirect_uri = redirect_uri
        self.error = error
        self.description = description
        self.state = state


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: OAuthClient
    redirect_uri: str
    scopes: Scopes
    state: str | None
    nonce: str | None
    code_challenge: str | None
    prompts: frozenset[Prompt]
    max_age: int | None
    login_hint: str | None


def _values(parameters: Parameters) -> dict[str, list[str]]:
    """Each parameter's values; one sent without a value counts as omitted (RFC 6749 §3.1)."""
    values: dict[str, list[str]] = {}
    for name, value in parameters:
        if value:
            values.setdefault(name, []).append(value)
    return values


def single(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name, [])
    return found[0] if len(found) == 1 else None


def client_and_redirect_uri(parameters: Parameters) -> tuple[str, str]:
    """The client id and redirect URI the request names, each exactly once."""
    values = _values(parameters)
    client_id, redirect_uri = single(values, "client_id"), single(values, "redirect_uri")
    if client_id is None:
        raise UnusableRequest("This sign-in request does not say which application it is for.")
    if redirect_uri is None:
        raise UnusableRequest("This sign-in request does not say where to return to.")
    return client_id, redirect_uri


def check_redirect_uri(client: OAuthClient | None, redirect_uri: str) -> OAuthClient:
    """The client, when it exists and registered this redirect URI, compared as a string."""
    if client is None:
        raise UnusableRequest("This sign-in request is for an application that is not registered.")
    if redirect_uri not in client.redirect_uris:
        raise UnusableRequest(
            f"This sign-in request asks to return to an address that {client.name} did not "
            "register, so it cannot be followed."
        )
    return client


def read_request(
    client: OAuthClient, redirect_uri: str, parameters: Parameters
) -> AuthorizationRequest:
    """The request of a known client with a registered redirect URI, checked whole; every
    refusal raises RefusedRequest."""
    values = _values(parameters)
    raw_state = single(values, "state")
    state = raw_state if raw_state is not None and len(raw_state) <= MAX_STATE_LENGTH else None

    def refuse(error: AuthorizationError, description: str) -> RefusedRequest:
        return RefusedRequest(redirect_uri, error, description, state)

    invalid = AuthorizationError.INVALID_REQUEST
    if "request" in values:
        raise refuse(AuthorizationError.REQUEST_NOT_SUPPORTED, "request objects are not supported")
    if "request_uri" in values:
        raise refuse(AuthorizationError.REQUEST_URI_NOT_SUPPORTED, "request_uri is not supported")
    response_types = values.get("response_type", [])
    if len(response_types) != 1:
        raise refuse(invalid, "response_type is required, once")
    if response_types[0] != "code":
        raise refuse(AuthorizationError.UNSUPPORTED_RESPONSE_TYPE, "only response_type=code")
    repeated = [name for name in _ONCE_ONLY if len(values.get(name, [])) > 1]
    if repeated:
        raise refuse(invalid, f"{repeated[0]} must not be repeated")
    if raw_state is not None and state is None:
        raise refuse(invalid, f"state must be at most {MAX_STATE_LENGTH} characters")
    if single(values, "response_mode") not in (None, "query"):
        raise refuse(invalid, "only response_mode=query")
    try:
        scopes = parse_scope(single(values, "scope") or "")
    except InvalidScope as error:
        raise refuse(AuthorizationError.INVALID_SCOPE, str(error)) from None
    nonce = single(values, "nonce")
    if nonce is not None and len(nonce) > MAX_NONCE_LENGTH:
        raise refuse(invalid, f"nonce must be at most {MAX_NONCE_LENGTH} characters")
    code_challenge = _code_challenge(client, values, refuse)
    prompts = _prompts(values, refuse)
    max_age = _max_age(values, refuse)
    login_hint = single(values, "login_hint")
    if login_hint is not None and len(login_hint) > MAX_LOGIN_HINT_LENGTH:
        login_hint = None  # a hint, not a demand: one too long to be an email is ignored
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        nonce=nonce,
        code_challenge=code_challenge,
        prompts=prompts,
        max_age=max_age,
        login_hint=login_hint,
    )


_Refuse = Callable[[AuthorizationError, str], RefusedRequest]


def _code_challenge(
    client: OAuthClient, values: dict[str, list[str]], refuse: _Refuse
) -> str | None:
    invalid = AuthorizationError.INVALID_REQUEST
    challenge, method = single(values, "code_challenge"), single(values, "code_challenge_method")
    if challenge is None:
        if method is not None:
            raise refuse(invalid, "code_challenge_method without code_challenge")
        if not client.is_confidential:
            raise refuse(invalid, "a public client must send a PKCE code_challenge (S256)")
        return None
    if method != "S256":
        raise refuse(invalid, "code_challenge_method must be S256")
    if not is_valid_s256_challenge(challenge):
        raise refuse(invalid, "code_challenge is not an S256 challenge")
    return challenge


def _prompts(values: dict[str, list[str]], refuse: _Refuse) -> frozenset[Prompt]:
    words = (single(values, "prompt") or "").split()
    known = {prompt.value for prompt in Prompt}
    unknown = [word for word in words if word not in known]
    if unknown:
        raise refuse(AuthorizationError.INVALID_REQUEST, f"prompt {unknown[0]!r} is not supported")
    prompts = frozenset(Prompt(word) for word in words)
    if Prompt.NONE in prompts and len(prompts) > 1:
        raise refuse(AuthorizationError.INVALID_REQUEST, "prompt=none stands alone")
    return prompts


def _max_age(values: dict[str, list[str]], refuse: _Refuse) -> int | None:
    raw = single(values, "max_age")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > _MAX_AGE_DIGITS:
        raise refuse(AuthorizationError.INVALID_REQUEST, "max_age must be a number of seconds")
    return int(raw)

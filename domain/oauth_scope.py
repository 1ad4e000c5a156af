"""What an application may ask of an account: the scopes of OpenID Connect this provider knows,
read from a request's `scope` parameter and written back in one order.

A scope this provider does not know is dropped rather than refused, as OpenID Connect Core
§3.1.2.1 asks ("scope values used that are not understood … SHOULD be ignored"), so a client
asking for a scope of another provider still signs people in with what is offered here. A
malformed value (a character RFC 6749 §3.3 does not allow) and a request without `openid` are
refused: the first is not a list of scopes at all, the second is not OpenID Connect."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from domain.errors import DomainError

MAX_SCOPE_PARAMETER_LENGTH = 1000
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), joined by single spaces.
_SCOPE_TOKEN_CHARACTERS = frozenset(chr(c) for c in range(0x21, 0x7F)) - {'"', "\\"}


class Scope(StrEnum):
    """In the order a scope is written back: the same set always reads the same."""

    OPENID = "openid"
    PROFILE = "profile"
    EMAIL = "email"
    OFFLINE_ACCESS = "offline_access"


Scopes = frozenset[Scope]

_ORDER = {scope: position for position, scope in enumerate(Scope)}


class InvalidScope(DomainError):
    """A `scope` parameter that cannot be granted; the message says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


def parse_scope(parameter: str) -> Scopes:
    """The known scopes of a space-separated `scope` parameter, which must include `openid`;
    unknown ones are dropped, repeated ones counted once."""
    if len(parameter) > MAX_SCOPE_PARAMETER_LENGTH:
        raise InvalidScope(f"scope must be at most {MAX_SCOPE_PARAMETER_LENGTH} characters")
    tokens = [token for token in parameter.split(" ") if token]
    if any(ch not in _SCOPE_TOKEN_CHARACTERS for token in tokens for ch in token):
        raise InvalidScope("scope must be scope tokens separated by spaces")
    known = {scope.value for scope in Scope}
    scopes = frozenset(Scope(token) for token in tokens if token in known)
    if Scope.OPENID not in scopes:
        raise InvalidScope("scope must include openid")
    return scopes


def format_scope(scopes: Iterable[Scope]) -> str:
    """The scopes separated by spaces, in Scope's order, each once."""
    return " ".join(scope.value for scope in sorted(set(scopes), key=_ORDER.__getitem__))

"""An application registered to sign people in through Portcullis (an OpenID Connect relying
party), and the rules its registration must keep."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from domain.errors import DomainError, InvalidDisplayName
from domain.user import check_display_name

MAX_REDIRECT_URIS = 10
MAX_POST_LOGOUT_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
# Where plain http is still safe: the traffic never leaves the machine (RFC 8252 §7.3).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# A redirect URI is compared as a string: only the printable ASCII of RFC 3986, so that two
# spellings of one address (percent-encoded or not, with a stray space) cannot both exist.
_URI_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_BROKEN_PERCENT_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class InvalidOAuthClient(DomainError):
    """A registration or a change that breaks a rule; the message names the field."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class ClientHasNoSecret(DomainError):
    def __init__(self) -> None:
        super().__init__("a public client has no secret")


class ClientType(StrEnum):
    """Whether the application can keep a secret: a server can, a browser or mobile app cannot
    (it proves itself with PKCE instead)."""

    CONFIDENTIAL = "confidential"
    PUBLIC = "public"


class IdTokenAlgorithm(StrEnum):
    """The algorithms the key ring signs with."""

    RS256 = "RS256"
    ES256 = "ES256"
    EDDSA = "EdDSA"


@dataclass(slots=True)
class OAuthClient:
    """`secret_hash` is set exactly when the client is confidential; the secret itself is shown
    once, when it is made."""

    client_id: str
    name: str
    type: ClientType
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    first_party: bool
    id_token_signed_response_alg: IdTokenAlgorithm
    secret_hash: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def register(
        cls,
        *,
        client_id: str,
        name: str,
        type: ClientType,
        redirect_uris: Iterable[str],
        post_logout_redirect_uris: Iterable[str] = (),
        first_party: bool = False,
        id_token_signed_response_alg: IdTokenAlgorithm = IdTokenAlgorithm.RS256,
        secret_hash: str | None,
        now: datetime,
    ) -> OAuthClient:
        if (type is ClientType.CONFIDENTIAL) != (secret_hash is not None):
            raise ValueError("a confidential client has a secret, a public one none")
        return cls(
            client_id=client_id,
            name=check_client_name(name),
            type=type,
            redirect_uris=check_redirect_uris(redirect_uris),
            post_logout_redirect_uris=check_post_logout_redirect_uris(post_logout_redirect_uris),
            first_party=first_party,
            id_token_signed_response_alg=id_token_signed_response_alg,
            secret_hash=secret_hash,
            created_at=now,
            updated_at=now,
        )

    @property
    def is_confidential(self) -> bool:
        return self.type is ClientType.CONFIDENTIAL

    def rename(self, name: str, now: datetime) -> None:
        self.name = check_client_name(name)
        self.updated_at = now

    def change_redirect_uris(self, uris: Iterable[str], now: datetime) -> None:
        self.redirect_uris = check_redirect_uris(uris)
        self.updated_at = now

    def change_post_logout_redirect_uris(self, uris: Iterable[str], now: datetime) -> None:
        self.post_logout_redirect_uris = check_post_logout_redirect_uris(uris)
        self.updated_at = now

    def set_first_party(self, first_party: bool, now: datetime) -> None:
        self.first_party = first_party
        self.updated_at = now

    def sign_id_tokens_with(self, algorithm: IdTokenAlgorithm, now: datetime) -> None:
        self.id_token_signed_response_alg = algorithm
        self.updated_at = now

    def renew_secret(self, secret_hash: str, now: datetime) -> None:
        if not self.is_confidential:
            raise ClientHasNoSecret()
        self.secret_hash = secret_hash
        self.updated_at = now


def check_client_name(name: str) -> str:
    """1 to 100 characters, not blank, without control characters: a display name's rules."""
    try:
        checked = check_display_name(name)
    except InvalidDisplayName as error:
        raise InvalidOAuthClient(f"name {error}") from None
    assert checked is not None
    return checked


def check_redirect_uris(uris: Iterable[str]) -> tuple[str, ...]:
    return _check_uris("redirect_uris", tuple(uris), minimum=1, maximum=MAX_REDIRECT_URIS)


def check_post_logout_redirect_uris(uris: Iterable[str]) -> tuple[str, ...]:
    return _check_uris(
        "post_logout_redirect_uris", tuple(uris), minimum=0, maximum=MAX_POST_LOGOUT_REDIRECT_URIS
    )


def _check_uris(
    field: str, uris: tuple[str, ...], *, minimum: int, maximum: int
) -> tuple[str, ...]:
    if not minimum <= len(uris) <= maximum:
        raise InvalidOAuthClient(f"{field} must hold {minimum} to {maximum} URIs")
    if len(set(uris)) != len(uris):
        raise InvalidOAuthClient(f"{field} must not hold the same URI twice")
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem is not None:
            raise InvalidOAuthClient(f"{field}: each URI {problem}")
    return uris


def redirect_uri_problem(uri: str) -> str | None:
    """Why a URI cannot be a redirect target, or None if it can: absolute, without a fragment,
    `https` on any host or `http` on a loopback host only, at most 2000 characters."""
    if not 1 <= len(uri) <= MAX_URI_LENGTH:
        return f"must be 1 to {MAX_URI_LENGTH} characters"
    if any(ch not in _URI_CHARACTERS for ch in uri):
        return "must be printable ASCII without spaces (percent-encode the rest)"
    if _BROKEN_PERCENT_ESCAPE.search(uri):
        return "must follow each % with two hexadecimal digits"
    if "#" in uri:
        return "must not have a fragment"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (reading it checks it: a port out of range raises)
    except ValueError:
        return "must be a valid absolute URI"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an absolute https:// (or, on a loopback host, http://) URI"
    if "@" in parts.netloc:
        return "must not hold a user name or password"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return "must use https:// (http:// only on localhost, 127.0.0.1 or [::1])"
    return None

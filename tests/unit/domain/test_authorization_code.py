from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.auth_method import PASSWORD_AND_TOTP
from domain.authorization_code import MAX_NONCE_LENGTH, AuthorizationCode
from domain.oauth_scope import Scope
from domain.pkce import s256_challenge

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
VERIFIER = "v" * 43
REDIRECT_URI = "https://wiki.example.com/callback"


def issue(**overrides: Any) -> AuthorizationCode:
    values: dict[str, Any] = {
        "id": UUID(int=1),
        "code_hash": "c" * 64,
        "client_id": "wiki",
        "user_id": UUID(int=2),
        "redirect_uri": REDIRECT_URI,
        "scopes": frozenset({Scope.OPENID, Scope.EMAIL}),
        "nonce": "n-0S6_WzA2Mj",
        "code_challenge": s256_challenge(VERIFIER),
        "auth_time": NOW - timedelta(minutes=3),
        "amr": PASSWORD_AND_TOTP,
        "browser_session_id": UUID(int=3),
        "now": NOW,
    }
    values.update(overrides)
    return AuthorizationCode.issue(**values)


def test_a_code_lives_sixty_seconds_and_is_redeemable_until_then() -> None:
    code = issue()
    assert (code.created_at, code.expires_at) == (NOW, NOW + timedelta(seconds=60))
    assert code.is_redeemable(NOW + timedelta(seconds=60) - timedelta(microseconds=1))
    assert not code.is_redeemable(NOW + timedelta(seconds=60))


def test_a_used_code_is_not_redeemable() -> None:
    code = issue()
    code.used_at = NOW
    assert not code.is_redeemable(NOW)


def test_a_code_is_bound_to_its_client_and_its_redirect_uri_exactly() -> None:
    code = issue()
    assert code.is_bound_to("wiki", REDIRECT_URI)
    assert not code.is_bound_to("other", REDIRECT_URI)
    assert not code.is_bound_to("wiki", REDIRECT_URI + "/")
    assert not code.is_bound_to("wiki", REDIRECT_URI.upper())


def test_a_code_with_a_challenge_accepts_only_its_verifier() -> None:
    code = issue()
    assert code.accepts_verifier(VERIFIER)
    assert not code.accepts_verifier("w" * 43)
    assert not code.accepts_verifier(None)


def test_a_code_without_a_challenge_accepts_no_verifier() -> None:
    code = issue(code_challenge=None)
    assert code.accepts_verifier(None)
    assert not code.accepts_verifier(VERIFIER)


def test_offline_access_is_read_from_the_scopes() -> None:
    assert not issue().grants_offline_access
    assert issue(scopes=frozenset({Scope.OPENID, Scope.OFFLINE_ACCESS})).grants_offline_access


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"scopes": frozenset({Scope.EMAIL})}, "openid"),
        ({"nonce": ""}, "nonce"),
        ({"nonce": "n" * (MAX_NONCE_LENGTH + 1)}, "nonce"),
        ({"code_challenge": VERIFIER + "x"}, "S256"),
    ],
)
def test_a_request_that_was_not_checked_cannot_make_a_code(
    overrides: dict[str, Any], rule: str
) -> None:
    with pytest.raises(ValueError, match=rule):
        issue(**overrides)


def test_the_longest_nonce_is_kept() -> None:
    assert issue(nonce="n" * MAX_NONCE_LENGTH).nonce == "n" * MAX_NONCE_LENGTH

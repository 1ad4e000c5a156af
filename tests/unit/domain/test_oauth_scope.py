from __future__ import annotations

import pytest

from domain.oauth_scope import (
    MAX_SCOPE_PARAMETER_LENGTH,
    InvalidScope,
    Scope,
    format_scope,
    parse_scope,
)


def test_the_known_scopes_are_read_into_a_set() -> None:
    assert parse_scope("openid profile email offline_access") == set(Scope)


def test_unknown_scopes_are_dropped_and_repeated_ones_counted_once() -> None:
    assert parse_scope("openid address openid phone email") == {Scope.OPENID, Scope.EMAIL}


def test_extra_spaces_between_scopes_are_tolerated() -> None:
    assert parse_scope("  openid   profile ") == {Scope.OPENID, Scope.PROFILE}


@pytest.mark.parametrize("parameter", ["", "profile email", "OpenID", "openid_connect"])
def test_a_request_without_openid_is_refused(parameter: str) -> None:
    with pytest.raises(InvalidScope, match="openid"):
        parse_scope(parameter)


@pytest.mark.parametrize(
    "parameter", ['openid "email"', "openid\\profile", "openid\temail", "openid é"]
)
def test_a_character_outside_the_scope_token_grammar_is_refused(parameter: str) -> None:
    with pytest.raises(InvalidScope, match="scope tokens"):
        parse_scope(parameter)


def test_an_overlong_parameter_is_refused_before_it_is_read() -> None:
    parse_scope("openid " + "x" * (MAX_SCOPE_PARAMETER_LENGTH - 7))
    with pytest.raises(InvalidScope, match="at most"):
        parse_scope("openid " + "x" * (MAX_SCOPE_PARAMETER_LENGTH - 6))


def test_scopes_are_written_in_one_order_whatever_order_they_came_in() -> None:
    assert (
        format_scope([Scope.OFFLINE_ACCESS, Scope.EMAIL, Scope.OPENID, Scope.PROFILE])
        == "openid profile email offline_access"
    )
    assert format_scope(parse_scope("email openid email")) == "openid email"
    assert format_scope([]) == ""


def test_what_is_written_reads_back_the_same() -> None:
    for scopes in ({Scope.OPENID}, {Scope.OPENID, Scope.OFFLINE_ACCESS}, set(Scope)):
        assert parse_scope(format_scope(scopes)) == scopes

"""The rules a client's registration keeps: its name, and which redirect URIs it may have."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.oauth_client import (
    ClientHasNoSecret,
    ClientType,
    InvalidOAuthClient,
    OAuthClient,
    redirect_uri_problem,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def register(**overrides: object) -> OAuthClient:
    values: dict[str, object] = {
        "client_id": "c1",
        "name": "Wiki",
        "type": ClientType.PUBLIC,
        "redirect_uris": ["https://wiki.example.com/cb"],
        "secret_hash": None,
        "now": NOW,
    }
    values.update(overrides)
    return OAuthClient.register(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "uri",
    [
        "https://wiki.example.com/cb",
        "https://wiki.example.com:8443/oidc/callback?tenant=a&x=%20y",
        "http://localhost:3000/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/",
        "https://203.0.113.9/cb",
    ],
)
def test_https_anywhere_and_http_on_a_loopback_host_are_accepted(uri: str) -> None:
    assert redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "/cb",
        "wiki.example.com/cb",
        "https:///cb",
        "https://",
        "http://wiki.example.com/cb",
        "http://127.0.0.2/cb",
        "http://localhost.example.com/cb",
        "ftp://wiki.example.com/cb",
        "javascript:alert(1)",
        "com.example.app:/cb",
        "https://wiki.example.com/cb#section",
        "https://wiki.example.com/cb#",
        "https://user:pass@wiki.example.com/cb",
        "https://wiki.example.com:99999/cb",
        "https://wiki.example.com/c b",
        "https://wiki.example.com/cb?q=%zz",
        "https://wiki.example.com/cb%2",
        "https://wiki.example.com/cb\n",
        "https://wiki.exämple.com/cb",
        "https://wiki.example.com/" + "a" * 2000,
    ],
)
def test_other_uris_are_refused(uri: str) -> None:
    assert redirect_uri_problem(uri) is not None


def test_a_uri_of_exactly_2000_characters_is_accepted() -> None:
    prefix = "https://wiki.example.com/"
    assert redirect_uri_problem(prefix + "a" * (2000 - len(prefix))) is None


def test_a_registration_needs_one_to_ten_distinct_redirect_uris() -> None:
    ten = [f"https://wiki.example.com/cb{i}" for i in range(10)]
    assert register(redirect_uris=ten).redirect_uris == tuple(ten)
    for refused in (
        [],
        [*ten, "https://wiki.example.com/cb10"],
        ["https://a.example/", "https://a.example/"],
    ):
        with pytest.raises(InvalidOAuthClient, match="redirect_uris"):
            register(redirect_uris=refused)


def test_post_logout_redirect_uris_may_be_none_but_follow_the_same_rules() -> None:
    assert register().post_logout_redirect_uris == ()
    with pytest.raises(
        InvalidOAuthClient, match="post_logout_redirect_uris: each URI must use https"
    ):
        register(post_logout_redirect_uris=["http://wiki.example.com/"])
    with pytest.raises(InvalidOAuthClient, match="post_logout_redirect_uris"):
        register(post_logout_redirect_uris=[f"https://a.example/{i}" for i in range(11)])


@pytest.mark.parametrize("name", ["", " ", "a" * 101, "Wiki\x00"])
def test_a_name_is_one_to_a_hundred_characters_not_blank_without_control_characters(
    name: str,
) -> None:
    with pytest.raises(InvalidOAuthClient, match=r"^name "):
        register(name=name)


def test_a_client_has_a_secret_exactly_when_it_is_confidential() -> None:
    with pytest.raises(ValueError, match="secret"):
        register(type=ClientType.CONFIDENTIAL, secret_hash=None)
    with pytest.raises(ValueError, match="secret"):
        register(type=ClientType.PUBLIC, secret_hash="a" * 64)


def test_a_public_client_has_no_secret_to_renew() -> None:
    client = register()

    with pytest.raises(ClientHasNoSecret):
        client.renew_secret("a" * 64, NOW)
    assert client.secret_hash is None

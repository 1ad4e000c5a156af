"""PORTCULLIS_OIDC_PROVIDERS: comma-separated provider ids, each configured by its own
PORTCULLIS_OIDC_<ID>_* variables (the id upper-cased, '-' as '_'); a provider that lacks one stops
start-up with one line that names the variable and never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import ConfigurationError, load_settings


def configure(monkeypatch: pytest.MonkeyPatch, provider_id: str, **values: str) -> None:
    prefix = f"PORTCULLIS_OIDC_{provider_id.replace('-', '_').upper()}_"
    defaults = {
        "ISSUER": f"https://{provider_id}.example.com",
        "CLIENT_ID": f"{provider_id}-client",
        "CLIENT_SECRET": f"{provider_id}-secret",
    }
    for suffix, value in {**defaults, **values}.items():
        monkeypatch.setenv(prefix + suffix, value)


def test_no_provider_is_configured_by_default() -> None:
    assert load_settings().oidc_providers == ()
    assert load_settings(oidc_providers="").oidc_providers == ()


def test_each_named_provider_is_read_from_its_variables_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, "google", ISSUER="https://accounts.google.com")
    configure(
        monkeypatch,
        "corp-sso",
        NAME="Corporate SSO",
        SCOPES="openid email",
        ISSUER="https://keycloak.example.com/realms/corp",
    )

    google, corp = load_settings(oidc_providers=" google , corp-sso ").oidc_providers

    assert (google.id, google.name, google.issuer, google.client_id) == (
        "google",
        "Google",
        "https://accounts.google.com",
        "google-client",
    )
    assert google.client_secret.get_secret_value() == "google-secret"
    assert google.scopes == ("openid", "email", "profile")
    assert (corp.id, corp.name, corp.issuer, corp.scopes) == (
        "corp-sso",
        "Corporate SSO",
        "https://keycloak.example.com/realms/corp",
        ("openid", "email"),
    )


def test_the_name_defaults_to_the_id_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, "my-idp")

    [provider] = load_settings(oidc_providers="my-idp").oidc_providers

    assert provider.name == "My Idp"


def test_the_variables_may_come_from_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "PORTCULLIS_OIDC_PROVIDERS=google\n"
        "PORTCULLIS_OIDC_GOOGLE_ISSUER=https://accounts.google.com\n"
        "PORTCULLIS_OIDC_GOOGLE_CLIENT_ID=from-the-file\n"
        "PORTCULLIS_OIDC_GOOGLE_CLIENT_SECRET=file-secret\n"
    )
    monkeypatch.setenv("PORTCULLIS_OIDC_GOOGLE_CLIENT_ID", "from-the-environment")

    [provider] = load_settings().oidc_providers

    assert provider.client_id == "from-the-environment"
    assert provider.client_secret.get_secret_value() == "file-secret"


def test_the_secret_never_shows_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, "google", CLIENT_SECRET="a-very-secret-value")

    assert "a-very-secret-value" not in repr(load_settings(oidc_providers="google"))


@pytest.mark.parametrize("missing", ["ISSUER", "CLIENT_ID", "CLIENT_SECRET"])
def test_a_missing_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    configure(monkeypatch, "corp-sso", CLIENT_SECRET="a-very-secret-value")
    monkeypatch.delenv(f"PORTCULLIS_OIDC_CORP_SSO_{missing}")

    with pytest.raises(ConfigurationError) as refused:
        load_settings(oidc_providers="corp-sso")

    message = str(refused.value)
    assert message == (
        f"PORTCULLIS_OIDC_PROVIDERS: provider corp-sso needs PORTCULLIS_OIDC_CORP_SSO_{missing}"
    )


@pytest.mark.parametrize(
    "ids",
    [
        "Google",
        "my_idp",
        "-google",
        "google-",
        "göogle",
        "a" * 41,
        "google,google",
        "second-step",
        "google,passkey",
    ],
)
def test_a_bad_or_repeated_id_is_refused(monkeypatch: pytest.MonkeyPatch, ids: str) -> None:
    configure(monkeypatch, "google")

    with pytest.raises(ConfigurationError) as refused:
        load_settings(oidc_providers=ids)

    assert str(refused.value).startswith("PORTCULLIS_OIDC_PROVIDERS: ")


@pytest.mark.parametrize(
    "issuer",
    [
        "http://accounts.google.com",  # plain HTTP beyond this machine
        "accounts.google.com",
        "https://accounts.google.com?x=1",
        "https://",
    ],
)
def test_an_issuer_must_be_https(monkeypatch: pytest.MonkeyPatch, issuer: str) -> None:
    configure(monkeypatch, "google", ISSUER=issuer)

    with pytest.raises(ConfigurationError, match="PORTCULLIS_OIDC_GOOGLE_ISSUER must be"):
        load_settings(oidc_providers="google")


def test_a_local_issuer_may_be_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, "dev", ISSUER="http://localhost:8080/realms/dev")

    [provider] = load_settings(oidc_providers="dev").oidc_providers

    assert provider.issuer == "http://localhost:8080/realms/dev"


def test_the_scopes_must_include_openid(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, "google", SCOPES="email profile")

    with pytest.raises(ConfigurationError, match="PORTCULLIS_OIDC_GOOGLE_SCOPES must include"):
        load_settings(oidc_providers="google")

from __future__ import annotations

from entrypoints.settings import load_settings


def test_the_relying_party_defaults_to_the_host_of_the_public_url() -> None:
    settings = load_settings(public_url="https://id.example.com:8443/auth/")

    assert settings.resolved_webauthn_rp_id == "id.example.com"
    assert settings.public_origin == "https://id.example.com:8443"
    assert settings.webauthn_rp_name == "Portcullis"


def test_the_default_public_url_is_a_host_name_a_browser_takes_as_rp_id() -> None:
    settings = load_settings()

    assert settings.public_url == "http://localhost:8000"
    assert settings.resolved_webauthn_rp_id == "localhost"
    assert settings.public_origin == "http://localhost:8000"


def test_an_rp_id_set_explicitly_wins() -> None:
    settings = load_settings(public_url="https://login.example.com", webauthn_rp_id="example.com")

    assert settings.resolved_webauthn_rp_id == "example.com"

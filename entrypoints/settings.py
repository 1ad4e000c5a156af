"""Configuration from PORTCULLIS_* environment variables (and a .env file)."""

from __future__ import annotations

import base64
import binascii
import os
import re
import string
import sys
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    SecretBytes,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "PORTCULLIS_"
ENCRYPTION_KEY_BYTES = 32
_BASE64URL = frozenset(string.ascii_letters + string.digits + "-_")
# A provider's id is part of its addresses (/login/{id}) and of its variables' names.
PROVIDER_ID_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?"
_PROVIDER_ID = re.compile(PROVIDER_ID_PATTERN)
# Paths of the sign-in pages beside /login/{provider}: no provider may take their names.
RESERVED_PROVIDER_IDS = ("second-step", "passkey")
DEFAULT_UPSTREAM_SCOPES = ("openid", "email", "profile")


class UpstreamProviderSettings(BaseModel):
    """One upstream OpenID provider, from PORTCULLIS_OIDC_<ID>_* (see `provider_variable`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: SecretStr
    scopes: tuple[str, ...] = DEFAULT_UPSTREAM_SCOPES


def provider_variable(provider_id: str, suffix: str) -> str:
    """The variable one setting of a provider is read from: `my-idp`'s issuer is
    PORTCULLIS_OIDC_MY_IDP_ISSUER."""
    return f"{ENV_PREFIX}OIDC_{provider_id.replace('-', '_').upper()}_{suffix}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = "sqlite+aiosqlite:///./var/portcullis.db"
    # PostgreSQL connections each worker process keeps open (requests beyond it wait their turn).
    database_pool_size: PositiveInt = 20
    issuer: str = Field("portcullis", min_length=1)
    audience: str = Field("portcullis", min_length=1)
    # A host name, not an IP address: browsers refuse an IP address as a passkey's RP ID.
    public_url: str = "http://localhost:8000"
    access_token_ttl_seconds: PositiveInt = 900
    refresh_token_ttl_seconds: PositiveInt = 2_592_000
    jwt_algorithm: Literal["ES256", "EdDSA", "RS256"] = "ES256"
    bcrypt_rounds: int = Field(12, ge=4, le=31)
    # The name authenticator apps show beside the account.
    mfa_issuer: str = Field("Portcullis", min_length=1, max_length=64)
    mfa_token_ttl_seconds: PositiveInt = 300
    # Unset: the host of public_url. Passkeys are bound to it: changing it orphans them all.
    webauthn_rp_id: str | None = Field(None, min_length=1, max_length=253)
    webauthn_rp_name: str = Field("Portcullis", min_length=1, max_length=64)
    login_max_failures: PositiveInt = 10
    login_failure_window_seconds: PositiveInt = 900
    cors_origins: Annotated[list[str], NoDecode] = []
    trusted_proxies: Annotated[list[str], NoDecode] = []
    log_format: Literal["console", "json"] | None = None  # None: console on a TTY, else json
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_body_bytes: PositiveInt = 65_536
    # With several workers, the supervisor kills a worker that does not answer its health check
    # within this many seconds. A worker starting on a busy machine can stay silent for
    # seconds, which uvicorn's own default of 5 does not allow for.
    worker_healthcheck_timeout_seconds: PositiveInt = 30
    # Requests per client IP per minute to each throttled endpoint (0: no per-IP limit).
    rate_limit_per_minute: NonNegativeInt = 60
    rate_limit_backend: Literal["memory", "redis"] = "memory"
    redis_url: str | None = None
    mail_backend: Literal["console", "file", "smtp"] = "console"
    mail_dir: Path = Path("./var/mail")
    # How often each serving process looks for mail to send; 0 leaves it to
    # `portcullis mail dispatch` (from cron, or a separate process).
    mail_dispatch_interval_seconds: NonNegativeInt = 2
    smtp_host: str = "localhost"
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_from: str = "Portcullis <portcullis@localhost>"
    # Keys that seal TOTP secrets and private signing keys at rest: comma-separated, each 32
    # bytes in base64url; the first seals, every one opens. Empty: stored as they are.
    encryption_keys: Annotated[tuple[SecretBytes, ...], NoDecode] = ()
    # Upstream OpenID providers to sign in with: comma-separated ids, each configured by its
    # own PORTCULLIS_OIDC_<ID>_* variables (read by `_upstream_providers`).
    oidc_providers: Annotated[tuple[UpstreamProviderSettings, ...], NoDecode] = ()
    # Let webhooks point at private, loopback and link-local addresses, and over plain http:
    # for endpoints on the same host or network. Off, a webhook's url could make Portcullis
    # reach inside the network it runs in.
    webhook_allow_private: bool = False

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _base64url_keys(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        keys = []
        for position, item in enumerate(value.split(","), start=1):
            text = item.strip()
            if not text and value.strip():
                raise ValueError(f"key {position} is empty")
            if not text:
                continue
            try:
                key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
                valid = set(text.rstrip("=")) <= _BASE64URL
            except (binascii.Error, ValueError):
                valid = False
            if not valid or len(key) != ENCRYPTION_KEY_BYTES:
                # The message never repeats the value: it is a key.
                raise ValueError(
                    f"key {position} is not {ENCRYPTION_KEY_BYTES} bytes in base64url "
                    '(make one with: python3 -c "import secrets,base64;'
                    'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())")'
                )
            keys.append(key)
        return tuple(keys)

    @field_validator("oidc_providers", mode="before")
    @classmethod
    def _upstream_providers(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        # Their variables' names depend on the ids, so no field can declare them: they are read
        # here, from the environment first and the .env file second, as the other settings are.
        env_file = cls.model_config.get("env_file")
        environment = _environment(env_file if isinstance(env_file, str) else None)
        providers: list[UpstreamProviderSettings] = []
        for item in value.split(","):
            provider_id = item.strip()
            if not provider_id:
                continue
            if not _PROVIDER_ID.fullmatch(provider_id):
                raise PydanticCustomError(
                    "bad_provider_id",
                    "provider ids are lower-case letters, digits and '-' (at most 40), "
                    "as in: google,my-keycloak",
                )
            if provider_id in RESERVED_PROVIDER_IDS:
                raise PydanticCustomError(
                    "reserved_provider_id",
                    "provider id {id} is a path of the sign-in pages; choose another",
                    {"id": provider_id},
                )
            if any(provider.id == provider_id for provider in providers):
                raise PydanticCustomError(
                    "duplicate_provider", "provider {id} is named twice", {"id": provider_id}
                )
            providers.append(_upstream_provider(provider_id, environment))
        return tuple(providers)

    @property
    def encryption_key_bytes(self) -> tuple[bytes, ...]:
        return tuple(key.get_secret_value() for key in self.encryption_keys)

    @property
    def resolved_webauthn_rp_id(self) -> str:
        return self.webauthn_rp_id or (urlsplit(self.public_url).hostname or "localhost")

    @property
    def public_origin(self) -> str:
        """The origin of public_url: the one origin a passkey ceremony or a page's form may
        come from."""
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def public_url_is_https(self) -> bool:
        return self.public_url.startswith("https://")

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("smtp_from")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or any(ch in value for ch in "\r\n"):
            raise ValueError("must be an address such as 'Portcullis <no-reply@example.com>'")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _redis_backend_needs_url(self) -> Self:
        if self.rate_limit_backend == "redis" and not self.redis_url:
            raise PydanticCustomError(
                "missing_setting",
                f"{ENV_PREFIX}REDIS_URL must be set when {ENV_PREFIX}RATE_LIMIT_BACKEND is redis",
            )
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def resolved_log_format(self) -> Literal["console", "json"]:
        if self.log_format is not None:
            return self.log_format
        return "console" if sys.stderr.isatty() else "json"


def _environment(env_file: str | None) -> Mapping[str, str]:
    """The variables as the settings see them: the environment, over the .env file's."""
    values: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        values.update(
            (name.upper(), text)
            for name, text in dotenv_values(env_file).items()
            if text is not None
        )
    values.update((name.upper(), text) for name, text in os.environ.items())
    return values


def _upstream_provider(
    provider_id: str, environment: Mapping[str, str]
) -> UpstreamProviderSettings:
    def read(suffix: str) -> str | None:
        text = environment.get(provider_variable(provider_id, suffix), "").strip()
        return text or None

    for suffix in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET"):
        if read(suffix) is None:
            raise PydanticCustomError(
                "missing_setting",
                "provider {id} needs {variable}",
                {"id": provider_id, "variable": provider_variable(provider_id, suffix)},
            )
    issuer = read("ISSUER") or ""
    parts = urlsplit(issuer)
    local = parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")
    if (
        not (parts.scheme == "https" or local)
        or not parts.hostname
        or parts.query
        or parts.fragment
    ):
        raise PydanticCustomError(
            "bad_issuer",
            "{variable} must be an https:// URL without query or fragment "
            "(http:// only for localhost)",
            {"variable": provider_variable(provider_id, "ISSUER")},
        )
    scopes_text = read("SCOPES")
    scopes = tuple(dict.fromkeys(scopes_text.split())) if scopes_text else DEFAULT_UPSTREAM_SCOPES
    if "openid" not in scopes:
        raise PydanticCustomError(
            "bad_scopes",
            "{variable} must include openid",
            {"variable": provider_variable(provider_id, "SCOPES")},
        )
    return UpstreamProviderSettings(
        id=provider_id,
        name=read("NAME") or provider_id.replace("-", " ").title(),
        issuer=issuer,
        client_id=read("CLIENT_ID") or "",
        client_secret=SecretStr(read("CLIENT_SECRET") or ""),
        scopes=scopes,
    )


class ConfigurationError(Exception):
    """A setting has a bad value; the message names the variable, never the value."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        if not first["loc"]:  # a rule across settings (a model validator) names them itself
            raise ConfigurationError(first["msg"]) from None
        variable = ENV_PREFIX + str(first["loc"][0]).upper()
        raise ConfigurationError(f"{variable}: {first['msg']}") from None

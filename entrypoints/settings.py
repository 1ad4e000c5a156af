"""Configuration from PORTCULLIS_* environment variables (and a .env file)."""

from __future__ import annotations

import base64
import binascii
import string
import sys
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
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

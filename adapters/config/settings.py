"""Lockgate's settings: one frozen, validated object built from init args, env, secrets and TOML.

Precedence, highest first:

1. keyword arguments (``LockgateSettings(env="test")`` or ``load_settings(env="test")``);
2. environment variables ``LOCKGATE_<FIELD>`` (``LOCKGATE_DATABASE_URL``);
3. the secret provider chain, for secret fields only (``LOCKGATE_SECRET_<FIELD>``, then the file
   ``$LOCKGATE_SECRETS_DIR/<field>``; Key Vault joins the chain later);
4. the TOML file: ``$LOCKGATE_CONFIG`` if set (it must exist), else ``./lockgate.toml`` if present;
   top-level keys named after the fields;
5. the defaults below.

Relative paths (``home``) are relative to the working directory, so every Lockgate process started
in one project folder shares ``./.lockgate`` and with it the embedded database.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from adapters.secrets import Secret, SecretProvider, default_secret_provider

CONFIG_ENV: Final = "LOCKGATE_CONFIG"
DEFAULT_CONFIG_FILE: Final = Path("lockgate.toml")
# Deliberately self-describing: it must never be mistaken for a real key, and prod refuses it.
DEV_API_SECRET_KEY: Final = "lockgate-dev-only-insecure-api-secret-key"
MIN_API_SECRET_KEY_LENGTH: Final = 32
# Values that are someone's default somewhere; compared case-insensitively.
WEAK_SECRETS: Final = frozenset({
    "", "admin", "changeit", "changeme", "change-me", "changethis", "default", "dev", "lockgate",
    "lockgate_app", "pass", "passwd", "password", "postgres", "redis", "root", "secret", "test",
    DEV_API_SECRET_KEY,
})

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Environment(StrEnum):
    """Where Lockgate runs; anything but ``dev`` refuses default secrets."""

    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class ConfigFileMissing(FileNotFoundError):
    """``LOCKGATE_CONFIG`` (or an explicit config file) names a file that does not exist."""


class LockgateSettings(BaseSettings):
    """Process-wide settings; frozen and validated at construction.

    Secret fields hold `Secret`, so printing or logging the settings shows masks only, and
    validation errors never echo an input (``hide_input_in_errors``).
    """

    model_config = SettingsConfigDict(
        env_prefix="LOCKGATE_",
        frozen=True,
        extra="forbid",  # a typo in lockgate.toml fails loudly instead of being ignored
        hide_input_in_errors=True,  # pydantic would otherwise quote raw secret strings
        validate_default=True,
    )

    env: Environment = Environment.DEV
    home: Path = Path(".lockgate")
    database_url: Secret | None = Field(
        default=None, description="Admin/owner DSN; None starts the embedded PostgreSQL.")
    app_role: str = Field(default="lockgate_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    app_password: Secret | None = None
    redis_url: Secret | None = None
    api_secret_key: Secret = Secret(DEV_API_SECRET_KEY)
    log_level: LogLevel = "INFO"

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url", mode="after")
    @classmethod
    def _check_database_url(cls, value: Secret | None) -> Secret | None:
        if value is not None and urlsplit(value.reveal()).scheme not in {"postgres", "postgresql"}:
            raise ValueError("database_url must be a postgresql:// URL")
        return value

    @field_validator("redis_url", mode="after")
    @classmethod
    def _check_redis_url(cls, value: Secret | None) -> Secret | None:
        if value is not None and urlsplit(value.reveal()).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("redis_url must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _refuse_default_secrets_outside_dev(self) -> LockgateSettings:
        if self.env is Environment.DEV:
            return self
        problems = insecure_settings(self)
        if problems:
            raise ValueError(
                f"refusing default or weak secrets with env={self.env.value}: "
                + "; ".join(problems)
                + " (set them with LOCKGATE_<NAME> or the secret provider chain)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: init > env > secret providers > TOML > defaults."""
        request = _LOAD.get() or _LoadRequest()
        provider = request.secrets if request.secrets is not None else default_secret_provider()
        return (
            init_settings,
            env_settings,
            SecretProviderSource(settings_cls, provider),
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file(request.config_file)),
        )


def insecure_settings(settings: LockgateSettings) -> list[str]:
    """Return one line per secret setting that is a default or weak (names only, never values)."""
    problems: list[str] = []
    key = settings.api_secret_key.reveal()
    if key == DEV_API_SECRET_KEY:
        problems.append("api_secret_key is the development default")
    elif _weak(key) or len(key) < MIN_API_SECRET_KEY_LENGTH:
        problems.append(
            f"api_secret_key is weak (use at least {MIN_API_SECRET_KEY_LENGTH} random characters)")
    if settings.app_password is not None and _weak(settings.app_password.reveal()):
        problems.append("app_password is a well-known default")
    for name in ("database_url", "redis_url"):
        url: Secret | None = getattr(settings, name)
        password = _url_password(url)
        if password is not None and _weak(password):
            problems.append(f"{name} carries a well-known default password")
    return problems


def _weak(value: str) -> bool:
    return value.strip().lower() in WEAK_SECRETS


def _url_password(url: Secret | None) -> str | None:
    if url is None:
        return None
    try:
        return urlsplit(url.reveal()).password
    except ValueError:  # a malformed port; the URL's own validation reports what is wrong
        return None


class SecretProviderSource(PydanticBaseSettingsSource):
    """Fill `Secret` fields from a `SecretProvider`, asked by field name (``database_url``)."""

    def __init__(self, settings_cls: type[BaseSettings], provider: SecretProvider) -> None:
        super().__init__(settings_cls)
        self._provider = provider

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Return the provider's secret for one field (None when it holds none)."""
        if not _is_secret_field(field):
            return None, field_name, False
        return self._provider.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        """Return the secrets the provider holds for this model's secret fields."""
        found: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(field, name)
            if value is not None:
                found[name] = value
        return found

    def __repr__(self) -> str:
        return f"SecretProviderSource({self._provider!r})"


def _is_secret_field(field: FieldInfo) -> bool:
    return field.annotation is Secret or Secret in get_args(field.annotation)


@dataclass(frozen=True, slots=True)
class _LoadRequest:
    config_file: Path | None = None
    secrets: SecretProvider | None = None


# settings_customise_sources is a classmethod with a fixed signature; this carries the
# per-call choices of load_settings() to it without global state leaking between threads/tasks.
_LOAD: ContextVar[_LoadRequest | None] = ContextVar("lockgate_settings_load", default=None)


def _config_file(explicit: Path | None) -> Path:
    if explicit is not None:
        path, origin = explicit, "config_file"
    elif os.environ.get(CONFIG_ENV):
        path, origin = Path(os.environ[CONFIG_ENV]).expanduser(), CONFIG_ENV
    else:
        # The conventional file is optional: TomlConfigSettingsSource skips it when absent.
        return DEFAULT_CONFIG_FILE
    if not path.is_file():
        raise ConfigFileMissing(f"{origin} names {path}, which is not a file")
    return path


def load_settings(
    config_file: Path | None = None, secrets: SecretProvider | None = None, **overrides: Any,
) -> LockgateSettings:
    """Build the settings from every source.

    ``config_file`` replaces ``$LOCKGATE_CONFIG``/``./lockgate.toml``; ``secrets`` replaces the
    default provider chain (`default_secret_provider`); ``overrides`` win over everything.
    """
    token = _LOAD.set(_LoadRequest(config_file=config_file, secrets=secrets))
    try:
        return LockgateSettings(**overrides)
    finally:
        _LOAD.reset(token)

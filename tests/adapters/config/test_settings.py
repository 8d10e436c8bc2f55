"""Settings: precedence (init > env > secret chain > TOML > defaults) and prod validation."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.config import (
    DEV_API_SECRET_KEY,
    ConfigFileMissing,
    Environment,
    LockgateSettings,
    load_settings,
)
from adapters.secrets import ChainSecretProvider, FileSecretProvider, Secret

PLANTED = "planted-s3cr3t-c41d07"
STRONG_KEY = secrets.token_urlsafe(48)
NO_SECRETS = ChainSecretProvider()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Run each test in an empty folder with no LOCKGATE_* variables from the real environment."""
    for name in list(os.environ):
        if name.startswith("LOCKGATE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def _toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings(secrets=NO_SECRETS)

    assert settings.env is Environment.DEV
    assert settings.home == Path(".lockgate")
    assert settings.database_url is None
    assert settings.app_role == "lockgate_app"
    assert settings.app_password is None
    assert settings.redis_url is None
    assert settings.api_secret_key == Secret(DEV_API_SECRET_KEY)
    assert settings.log_level == "INFO"


def test_init_beats_env_beats_toml_beats_defaults(
    isolated: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _toml(isolated / "lockgate.toml",
          'app_role = "from_toml"\nlog_level = "warning"\nhome = "toml-home"\n')
    monkeypatch.setenv("LOCKGATE_APP_ROLE", "from_env")
    monkeypatch.setenv("LOCKGATE_HOME", "env-home")

    settings = load_settings(secrets=NO_SECRETS, app_role="from_init")

    assert settings.app_role == "from_init"  # init over env and toml
    assert settings.home == Path("env-home")  # env over toml
    assert settings.log_level == "WARNING"  # toml over the default
    assert settings.env is Environment.DEV  # default where nobody says otherwise


def test_env_beats_toml_when_no_init_arg(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _toml(isolated / "lockgate.toml", 'app_role = "from_toml"\n')
    monkeypatch.setenv("LOCKGATE_APP_ROLE", "from_env")

    assert LockgateSettings().app_role == "from_env"


def test_lockgate_config_names_the_toml_file(
    isolated: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _toml(isolated / "lockgate.toml", 'app_role = "from_cwd"\n')
    elsewhere = _toml(isolated / "elsewhere.toml", 'app_role = "from_config"\n')
    monkeypatch.setenv("LOCKGATE_CONFIG", str(elsewhere))

    assert load_settings(secrets=NO_SECRETS).app_role == "from_config"


def test_explicit_config_file_wins_over_lockgate_config(
    isolated: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCKGATE_CONFIG", str(_toml(isolated / "a.toml", 'app_role = "a"\n')))
    explicit = _toml(isolated / "b.toml", 'app_role = "b"\n')

    assert load_settings(config_file=explicit, secrets=NO_SECRETS).app_role == "b"


def test_a_missing_config_file_named_by_lockgate_config_fails(
    isolated: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCKGATE_CONFIG", str(isolated / "missing.toml"))

    with pytest.raises(ConfigFileMissing, match="LOCKGATE_CONFIG"):
        load_settings(secrets=NO_SECRETS)


def test_an_unknown_toml_key_fails(isolated: Path) -> None:
    _toml(isolated / "lockgate.toml", 'app_rol = "typo"\n')

    with pytest.raises(ValidationError, match="app_rol"):
        load_settings(secrets=NO_SECRETS)


def test_secret_fields_come_from_the_provider_chain_between_env_and_toml(
    isolated: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    mounted = isolated / "run-secrets"
    mounted.mkdir()
    for name, value in {"database_url": "postgresql://u@from-file/db",
                        "redis_url": "redis://from-file:6379/0"}.items():
        (mounted / name).write_text(value + "\n")
        (mounted / name).chmod(0o400)
    _toml(isolated / "lockgate.toml",
          'database_url = "postgresql://u@from-toml/db"\napp_password = "from-toml-pw"\n')
    monkeypatch.setenv("LOCKGATE_REDIS_URL", "redis://from-env:6379/0")

    settings = load_settings(secrets=FileSecretProvider(mounted))

    assert settings.database_url == Secret("postgresql://u@from-file/db")  # chain over toml
    assert settings.redis_url == Secret("redis://from-env:6379/0")  # env over chain
    assert settings.app_password == Secret("from-toml-pw")  # toml when the chain lacks it


def test_the_default_chain_reads_lockgate_secrets_dir(
    isolated: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    mounted = isolated / "mounted"
    mounted.mkdir()
    (mounted / "app_password").write_text(PLANTED)
    (mounted / "app_password").chmod(0o400)
    monkeypatch.setenv("LOCKGATE_SECRETS_DIR", str(mounted))

    assert LockgateSettings().app_password == Secret(PLANTED)


def test_settings_are_frozen() -> None:
    settings = load_settings(secrets=NO_SECRETS)

    with pytest.raises(ValidationError):
        settings.app_role = "other"


def test_printing_and_dumping_settings_hide_every_secret() -> None:
    settings = load_settings(
        secrets=NO_SECRETS, api_secret_key=PLANTED, app_password=PLANTED,
        database_url=f"postgresql://u:{PLANTED}@h/db", redis_url=f"redis://:{PLANTED}@h:6379/0")

    for text in (repr(settings), str(settings), settings.model_dump_json(),
                 str(settings.model_dump(mode="json"))):
        assert PLANTED not in text


@pytest.mark.parametrize("env", ["prod", "test"])
def test_outside_dev_the_default_api_secret_key_is_refused(env: str) -> None:
    with pytest.raises(ValidationError) as raised:
        load_settings(secrets=NO_SECRETS, env=env)

    message = str(raised.value)
    assert "api_secret_key" in message
    assert DEV_API_SECRET_KEY not in message


def test_prod_refusal_names_each_setting_and_never_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCKGATE_ENV", "prod")
    monkeypatch.setenv("LOCKGATE_API_SECRET_KEY", PLANTED)  # too short for prod
    monkeypatch.setenv("LOCKGATE_DATABASE_URL", f"postgresql://{PLANTED}:postgres@db/lockgate")
    monkeypatch.setenv("LOCKGATE_APP_PASSWORD", "changethis")
    monkeypatch.setenv("LOCKGATE_REDIS_URL", f"redis://:{STRONG_KEY}@redis:6379/0")

    with pytest.raises(ValidationError) as raised:
        load_settings(secrets=NO_SECRETS)

    message = str(raised.value)
    assert "api_secret_key is weak" in message
    assert "database_url carries a well-known default password" in message
    assert "app_password is a well-known default" in message
    assert "redis_url" not in message  # a strong password is not a problem
    for value in (PLANTED, "changethis", STRONG_KEY, "postgres:"):
        assert value not in message


def test_prod_accepts_strong_secrets() -> None:
    settings = load_settings(
        secrets=NO_SECRETS, env="prod", api_secret_key=STRONG_KEY,
        database_url=f"postgresql://owner:{STRONG_KEY}@db:5432/lockgate")

    assert settings.env is Environment.PROD


def test_dev_accepts_the_defaults() -> None:
    assert load_settings(secrets=NO_SECRETS, app_password="changethis").env is Environment.DEV


def test_a_non_postgres_database_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError, match="database_url") as raised:
        load_settings(secrets=NO_SECRETS, database_url=f"mysql://u:{PLANTED}@h/db")

    assert PLANTED not in str(raised.value)


def test_log_level_is_case_insensitive_and_checked() -> None:
    assert load_settings(secrets=NO_SECRETS, log_level="debug").log_level == "DEBUG"
    with pytest.raises(ValidationError, match="log_level"):
        load_settings(secrets=NO_SECRETS, log_level="chatty")


def test_app_role_must_be_a_plain_identifier() -> None:
    with pytest.raises(ValidationError, match="app_role"):
        load_settings(secrets=NO_SECRETS, app_role='x"; drop table y')


def test_unrelated_lockgate_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test suite's own LOCKGATE_TEST_ADMIN_DSN must not trip extra="forbid".
    monkeypatch.setenv("LOCKGATE_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1/postgres")

    assert load_settings(secrets=NO_SECRETS).database_url is None

"""Secret providers: environment, mounted files, the chain; errors name secrets, never values."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from adapters.secrets import (
    ChainSecretProvider,
    EnvSecretProvider,
    FileSecretProvider,
    MissingSecret,
    Secret,
    SecretError,
    SecretProvider,
    default_secret_provider,
)

PLANTED = "planted-s3cr3t-52be11"


def _write(directory: Path, name: str, content: str | bytes, mode: int = 0o400) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    path.chmod(mode)
    return path


# -- environment -----------------------------------------------------------------------------

def test_env_provider_reads_prefixed_upper_case_variables() -> None:
    provider = EnvSecretProvider(environ={"LOCKGATE_SECRET_BINANCE_API_KEY": PLANTED})

    assert provider.get("binance_api_key") == Secret(PLANTED)
    assert provider.get("binance-api-key") == Secret(PLANTED)
    assert provider.get("other") is None


def test_env_provider_treats_an_empty_variable_as_unset() -> None:
    provider = EnvSecretProvider(environ={"LOCKGATE_SECRET_TOKEN": ""})

    assert provider.get("token") is None


def test_env_provider_reads_the_live_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = EnvSecretProvider(prefix="LGTEST_")
    monkeypatch.setenv("LGTEST_TOKEN", PLANTED)  # set after construction: no snapshot

    assert provider.get("token") == Secret(PLANTED)
    assert provider.variable("token") == "LGTEST_TOKEN"


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "", ".hidden", "x y"])
def test_invalid_names_are_refused(name: str, tmp_path: Path) -> None:
    for provider in (EnvSecretProvider(environ={}), FileSecretProvider(tmp_path),
                     ChainSecretProvider()):
        with pytest.raises(SecretError):
            provider.get(name)


# -- mounted files ---------------------------------------------------------------------------

def test_file_provider_reads_one_file_per_secret_and_strips_one_newline(tmp_path: Path) -> None:
    _write(tmp_path, "database_url", PLANTED + "\n")
    _write(tmp_path, "crlf", PLANTED + "\r\n")
    _write(tmp_path, "two_lines", "line one\nline two\n\n")
    provider = FileSecretProvider(tmp_path)

    assert provider.get("database_url") == Secret(PLANTED)
    assert provider.get("crlf") == Secret(PLANTED)
    assert provider.get("two_lines") == Secret("line one\nline two\n")
    assert provider.get("absent") is None
    assert FileSecretProvider(tmp_path / "no-such-dir").get("database_url") is None


def test_file_provider_follows_kubernetes_style_symlinks(tmp_path: Path) -> None:
    _write(tmp_path / "..data", "token", PLANTED)
    (tmp_path / "token").symlink_to(Path("..data") / "token")

    assert FileSecretProvider(tmp_path).get("token") == Secret(PLANTED)


def test_world_readable_file_warns_once_naming_the_file_not_the_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    path = _write(tmp_path, "token", PLANTED, mode=0o644)
    provider = FileSecretProvider(tmp_path)

    with caplog.at_level(logging.WARNING, logger="adapters.secrets"):
        first = provider.get("token")
        provider.get("token")

    assert first == Secret(PLANTED)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(path) in caplog.text
    assert "'token'" in caplog.text
    assert PLANTED not in caplog.text


def test_world_readable_file_is_refused_when_asked(tmp_path: Path) -> None:
    _write(tmp_path, "token", PLANTED, mode=0o644)

    with pytest.raises(SecretError, match="'token'") as raised:
        FileSecretProvider(tmp_path, refuse_world_readable=True).get("token")

    assert PLANTED not in str(raised.value)


def test_empty_file_is_an_error_naming_the_secret(tmp_path: Path) -> None:
    _write(tmp_path, "token", "\n")

    with pytest.raises(SecretError, match=r"'token'.*empty"):
        FileSecretProvider(tmp_path).get("token")


def test_invalid_utf8_reports_neither_the_bytes_nor_a_decode_error(tmp_path: Path) -> None:
    _write(tmp_path, "token", PLANTED.encode() + b"\xff\xfe")

    with pytest.raises(SecretError, match=r"'token'.*UTF-8") as raised:
        FileSecretProvider(tmp_path).get("token")

    # The UnicodeDecodeError would quote the bytes; it must not even ride along as context.
    assert raised.value.__context__ is None
    assert raised.value.__cause__ is None
    assert PLANTED not in str(raised.value)


def test_a_directory_in_place_of_a_secret_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "token").mkdir()

    with pytest.raises(SecretError, match="not a regular file"):
        FileSecretProvider(tmp_path).get("token")


# -- the chain -------------------------------------------------------------------------------

def test_chain_asks_in_order_and_the_first_holder_wins(tmp_path: Path) -> None:
    _write(tmp_path, "token", "from-file")
    _write(tmp_path, "file_only", "only-in-file")
    chain = ChainSecretProvider(
        EnvSecretProvider(environ={"LOCKGATE_SECRET_TOKEN": "from-env"}),
        FileSecretProvider(tmp_path),
    )

    assert chain.get("token") == Secret("from-env")
    assert chain.get("file_only") == Secret("only-in-file")
    assert chain.get("absent") is None


def test_require_names_the_secret_and_where_it_looked(tmp_path: Path) -> None:
    chain = ChainSecretProvider(EnvSecretProvider(environ={}), FileSecretProvider(tmp_path))

    with pytest.raises(MissingSecret) as raised:
        chain.require("binance_api_key")

    message = str(raised.value)
    assert "'binance_api_key'" in message
    assert "EnvSecretProvider" in message
    assert str(tmp_path) in message


def test_require_returns_the_secret_when_present() -> None:
    chain = ChainSecretProvider(EnvSecretProvider(environ={"LOCKGATE_SECRET_X": PLANTED}))

    assert chain.require("x") == Secret(PLANTED)
    assert PLANTED not in repr(chain)


def test_every_provider_satisfies_the_protocol(tmp_path: Path) -> None:
    providers = [EnvSecretProvider(), FileSecretProvider(tmp_path), ChainSecretProvider()]

    assert all(isinstance(p, SecretProvider) for p in providers)


def test_default_chain_reads_env_then_the_secrets_dir(tmp_path: Path) -> None:
    _write(tmp_path, "token", "from-file")
    _write(tmp_path, "other", "other-from-file")
    environ = {"LOCKGATE_SECRETS_DIR": os.fspath(tmp_path), "LOCKGATE_SECRET_TOKEN": "from-env"}

    chain = default_secret_provider(environ)

    assert chain.get("token") == Secret("from-env")
    assert chain.get("other") == Secret("other-from-file")

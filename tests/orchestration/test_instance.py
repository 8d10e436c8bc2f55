"""The Dagster instance: storage in Lockgate's PostgreSQL (configured or embedded), no secret
written to dagster.yaml."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from adapters.storage.connect import app_dsn
from adapters.storage.embedded import EmbeddedPostgres


def test_a_socket_dsn_becomes_libpq_parameters_and_psycopg2() -> None:
    # Arrange
    from orchestration.instance import instance_config

    dsn = "postgresql://lockgate_app@/lockgate?host=/run/lockgate%20pg&port=5433"

    # Act
    database = instance_config(dsn)["storage"]["postgres"]["postgres_db"]

    # Assert
    assert database["scheme"] == "postgresql+psycopg2"
    assert database["params"]["host"] == "/run/lockgate pg"
    assert database["params"]["port"] == "5433"
    assert database["params"]["options"] == "-csearch_path=dagster"
    assert "password" not in database


def test_the_password_travels_in_the_environment_not_in_the_file(
    migrated_database: str, app_role: str, tmp_path: Path,
) -> None:
    # Arrange
    from orchestration.instance import PASSWORD_ENV, prepare_home

    secret = "pw-that-must-not-be-written-9f3k"

    # Act
    home = prepare_home(tmp_path, migrated_database,
                        app_dsn(migrated_database, app_role, secret), app_role)

    # Assert
    text = (home.path / "dagster.yaml").read_text()
    assert secret not in text
    database = json.loads(text)["storage"]["postgres"]["postgres_db"]
    assert database["password"] == {"env": PASSWORD_ENV}
    assert home.env[PASSWORD_ENV] == secret


@pytest.fixture
def embedded_home() -> Iterator[Path]:
    """A Lockgate home whose embedded server is stopped and removed afterwards."""
    # Not under tmp_path: as root the server runs as another user, who must traverse the
    # parents, and pytest keeps its temporary tree private (tests/adapters/embedded).
    folder = Path(tempfile.mkdtemp(prefix="lockgate-dagster-"))
    server = EmbeddedPostgres(folder / ".lockgate")
    try:
        yield server.home
    finally:
        server.stop()
        if not server.status().running:
            shutil.rmtree(folder, ignore_errors=True)


def test_runs_are_stored_in_the_embedded_server_over_its_socket(
    embedded_home: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Arrange: no database configured, so Lockgate's settings start the embedded server
    from orchestration.instance import apply_environment, prepare_home
    from orchestration.resources import LockgateDatabase

    for name in ("LOCKGATE_DATABASE_URL", "LOCKGATE_HOME", "LOCKGATE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    config = embedded_home.parent / "lockgate.toml"
    config.write_text(f'home = "{embedded_home}"\n', encoding="utf-8")
    database = LockgateDatabase(config_file=str(config))
    home = prepare_home(embedded_home, database.admin_dsn(), database.app_dsn(),
                        database.settings().app_role)
    monkeypatch.setenv("DAGSTER_HOME", str(home.path))
    apply_environment(home)

    @dg.asset
    def probe() -> None:
        """Nothing: the run itself is what gets stored."""

    # Act
    with home.instance() as instance:
        result = dg.materialize([probe], instance=instance)
        runs = instance.get_runs()
        storage = type(instance.run_storage).__name__

    # Assert
    assert result.success
    assert [run.run_id for run in runs] == [result.run_id]
    assert storage == "PostgresRunStorage"
    assert "host" in json.loads((home.path / "dagster.yaml").read_text())[
        "storage"]["postgres"]["postgres_db"]["params"]

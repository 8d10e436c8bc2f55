"""The dbt connection from Lockgate's DSN, and the dbt runner's failures."""

from __future__ import annotations

import pytest

from orchestration.dbt_profile import DbtFailed, dbt_env, run_dbt


def test_a_tcp_dsn_becomes_the_profile_variables() -> None:
    # Act
    env = dbt_env("postgresql://lockgate_app:p%40ss%2Fword@db.example:6543/lockgate"
                  "?sslmode=require", schema="marts", threads=2)

    # Assert
    assert env == {
        "LOCKGATE_DBT_HOST": "db.example", "LOCKGATE_DBT_PORT": "6543",
        "LOCKGATE_DBT_USER": "lockgate_app", "LOCKGATE_DBT_PASSWORD": "p@ss/word",
        "LOCKGATE_DBT_DBNAME": "lockgate", "LOCKGATE_DBT_SCHEMA": "marts",
        "LOCKGATE_DBT_THREADS": "2", "LOCKGATE_DBT_SSLMODE": "require",
    }


def test_the_embedded_servers_socket_dsn_becomes_the_profile_variables() -> None:
    # Act: the embedded server's URI names its socket directory in the query
    env = dbt_env("postgresql://lockgate_app@/lockgate?host=/home/u/.lockgate/run&port=5433")

    # Assert
    assert (env["LOCKGATE_DBT_HOST"], env["LOCKGATE_DBT_PORT"], env["LOCKGATE_DBT_USER"],
            env["LOCKGATE_DBT_PASSWORD"], env["LOCKGATE_DBT_DBNAME"],
            env["LOCKGATE_DBT_SCHEMA"]) == (
        "/home/u/.lockgate/run", "5433", "lockgate_app", "", "lockgate", "analytics")


@pytest.mark.parametrize(("dsn", "problem"), [
    ("mysql://u@h/db", "postgresql://"),
    ("postgresql://u@h:5432/", "dbname"),
    ("postgresql://h:5432/db", "user"),
])
def test_an_unusable_dsn_is_refused(dsn: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        dbt_env(dsn)


def test_a_failing_dbt_command_raises_with_its_output_and_never_the_password() -> None:
    # Act
    with pytest.raises(DbtFailed) as failed:
        # dbt echoes the bad value back; here the value happens to be the password
        run_dbt(["run", "--threads", "sekrit-value"],
                "postgresql://lockgate_app:sekrit-value@127.0.0.1:1/nowhere")

    # Assert
    assert failed.value.returncode == 2
    message = str(failed.value)
    assert "dbt run --threads ***" in message and "is not a valid integer" in message
    assert "sekrit-value" not in message

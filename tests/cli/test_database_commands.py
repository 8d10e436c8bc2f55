"""The database side of the CLI: migrate, load-candles, backtests from the database, --save.

Each test points Lockgate at a database of its own (LOCKGATE_DATABASE_URL) on the test server;
the embedded default has its own test below.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import REPO

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
FILES = ("binance_BTC-USDT_1h.csv", "binance_ETH-USDT_1h.csv", "binance_NEO-BTC_4h.csv",
         "bittrex_XRP-BTC_1m.csv")


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LOCKGATE, *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture
def lockgate_env(fresh_database: str, app_role: str, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOCKGATE_")}
    env.update(LOCKGATE_DATABASE_URL=fresh_database, LOCKGATE_APP_ROLE=app_role,
               LOCKGATE_HOME=str(tmp_path / "home"))
    return env


async def _count(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


def test_backtests_from_the_database_equal_backtests_from_the_same_csv(
    lockgate_env: dict[str, str], candles_dir: Path,
) -> None:
    # Arrange
    paths = [str(candles_dir / name) for name in FILES]
    assert _run(lockgate_env, "migrate").returncode == 0
    loaded = _run(lockgate_env, "load-candles", *paths)
    assert loaded.returncode == 0, loaded.stderr

    for name, path in zip(FILES, paths, strict=True):
        venue, pair, timeframe = Path(name).stem.split("_")
        for params in (("fast=20", "slow=50"), ("fast=5", "slow=20")):
            flags = ["--param", params[0], "--param", params[1], "--fee-bps", "7.5",
                     "--slippage-bps", "5", "--json"]
            # Act
            from_db = _run(lockgate_env, "backtest", "--exchange", venue,
                           "--symbol", pair.replace("-", "/"), "--timeframe", timeframe, *flags)
            from_csv = _run(lockgate_env, "backtest", "--csv", path, *flags)
            # Assert: the very same figures, to the last bit
            assert from_db.returncode == 0, from_db.stderr
            assert json.loads(from_db.stdout) == json.loads(from_csv.stdout), (name, params)


def test_loading_twice_adds_no_rows_and_save_stores_the_run(
    lockgate_env: dict[str, str], candles_dir: Path, fresh_database: str,
) -> None:
    # Arrange
    path = str(candles_dir / "binance_BTC-USDT_1h.csv")
    first = _run(lockgate_env, "load-candles", path)
    second = _run(lockgate_env, "load-candles", path)

    # Act
    run = _run(lockgate_env, "backtest", "--exchange", "binance", "--symbol", "BTC/USDT",
               "--timeframe", "1h", "--save", "--json")

    # Assert
    assert "499 rows, 499 new" in first.stdout
    assert "499 rows, 0 new" in second.stdout
    assert asyncio.run(_count(fresh_database, "select count(*) from exchange_candles")) == 499
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    assert "saved run" in run.stderr
    count = lambda table: asyncio.run(_count(fresh_database, f"select count(*) from {table}"))  # noqa: E731
    assert count("backtest_runs") == 1
    assert count("equity_snapshots") == 499  # one per bar close
    assert count("fills") == count("orders") == count("signals") == 2 * figures["n_trades"] - 1
    stored = asyncio.run(_count(
        fresh_database, "select (metrics->>'n_trades')::int from backtest_runs"))
    assert stored == figures["n_trades"]


def test_a_malformed_csv_loads_nothing(lockgate_env: dict[str, str], tmp_path: Path,
                                       fresh_database: str) -> None:
    bad = tmp_path / "binance_BTC-USDT_1h.csv"
    bad.write_text("ts,open,high,low,close,volume\n"
                   "2024-01-01T00:00:00Z,1,2,1,2,1\n"
                   "2024-01-01T01:00:00Z,1,0.5,1,2,1\n")

    result = _run(lockgate_env, "load-candles", str(bad))

    assert result.returncode == 2
    assert f"{bad}:3" in result.stderr
    assert _run(lockgate_env, "migrate").returncode == 0
    assert asyncio.run(_count(fresh_database, "select count(*) from exchange_candles")) == 0


def test_without_a_database_url_the_embedded_server_is_started_and_shared(
    candles_dir: Path,
) -> None:
    # Arrange: no LOCKGATE_DATABASE_URL; a home of its own (mkdtemp: the server's own user must
    # be able to reach it, which pytest's 0700 tmp folders do not allow when run as root).
    home = Path(tempfile.mkdtemp(prefix="lockgate-cli-"))
    home.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOCKGATE_")}
    env["LOCKGATE_HOME"] = str(home / "state")
    try:
        # Act: three separate processes share one server
        migrated = _run(env, "migrate")
        status = _run(env, "db", "status")
        loaded = _run(env, "load-candles", str(candles_dir / "binance_BTC-USDT_1h.csv"))
        backtest = _run(env, "backtest", "--exchange", "binance", "--symbol", "BTC/USDT",
                        "--timeframe", "1h", "--json")
        stopped = _run(env, "db", "stop")
        after = _run(env, "db", "status")
    finally:
        _run(env, "db", "stop")
    # Assert
    assert migrated.returncode == 0, migrated.stderr
    assert "running (pid" in status.stdout
    assert "499 new" in loaded.stdout
    assert json.loads(backtest.stdout)["n_trades"] == 3
    assert "stopped" in stopped.stdout
    assert "stopped" in after.stdout
    assert (home / "state" / "postgres" / "PG_VERSION").exists()

"""``lockgate load-trades`` (and ``export-candles`` before any build) against the real PostgreSQL
server, one database for the module. What export-candles writes once dbt has built the candles
is tested with the dbt warehouse, in tests/dbt/test_export_candles.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import lockgate
from cli.trades_io import instrument_from_trades_filename, parse_trades
from domain.errors import InvalidValue
from domain.instruments import InstrumentId
from tests.dbt.support import (
    BTC_TRADES,
    ETH_TRADES,
    create_database,
    drop_database,
    query,
    read_trades,
    run,
)

HEADER = "ts,price,qty,side,trade_id\n"


def _lockgate(env: dict[str, str | None], *args: str) -> Result:
    """Run the command line in this process (dbt, for --build, still runs as a subprocess)."""
    return CliRunner().invoke(lockgate, list(args), env=env)


# -- the CSV format ----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("binance_BTC-USDT_trades_20240808-20240809.csv", InstrumentId("BINANCE", "BTC", "USDT")),
    ("binance-usdm_BTC-USDT_trades_20240808.csv",
     InstrumentId("BINANCE", "BTC", "USDT", "USDT")),
    ("binance-coinm_BTC-USD_trades.csv", InstrumentId("BINANCE", "BTC", "USD", "BTC")),
    ("binance-spotx_BTC-USDT_trades_1.csv", None),
    ("binance_BTC-USDT_1h.csv", None),
])
def test_the_file_name_names_the_instrument(name: str, expected: InstrumentId | None) -> None:
    assert instrument_from_trades_filename(Path(name)) == expected


def test_epoch_milliseconds_and_iso_times_are_the_same_instant() -> None:
    # Act
    parsed = parse_trades([HEADER, "1723161255342,61837.63,0.02,sell,1\n",
                           "2024-08-08T23:54:15.342Z,61837.6,0.00009,buy,2\n"], "t.csv")

    # Assert
    first, second = parsed.rows
    assert first.ts_event == second.ts_event == 1_723_161_255_342_000_000
    assert (parsed.price_precision, parsed.size_precision) == (2, 5)


@pytest.mark.parametrize(("line", "problem"), [
    ("2024-08-08T23:54:15Z,61837.63,0.02,hold,1", "side must be 'buy' or 'sell'"),
    ("2024-08-08T23:54:15Z,-1,0.02,buy,1", "price '-1' is not a plain decimal"),
    ("2024-08-08T23:54:15Z,61837.63,0,buy,1", "qty must be positive"),
    ("2024-08-08T23:54:15Z,NaN,0.02,buy,1", "price 'NaN' is not a plain decimal"),
    ("2024-08-08T23:54:15Z,1,0.00031099999999999997,buy,1", "20 decimal places"),
    ("2024-08-08T23:54:15,1,1,buy,1", "no UTC designator"),
    ("2024-08-08T23:54:15+02:00,1,1,buy,1", "is not in UTC"),
    ("yesterday,1,1,buy,1", "neither epoch milliseconds nor ISO-8601"),
    ("2024-08-08T23:54:15Z,1,1,buy,", "trade_id is empty"),
    ("2024-08-08T23:54:15Z,1,1,buy", "expected 5 fields, got 4"),
])
def test_a_bad_row_is_refused_with_its_line(line: str, problem: str) -> None:
    # Arrange
    good = "2024-08-08T23:54:15Z,61837.63,0.02,sell,1\n"

    # Act / Assert
    with pytest.raises(InvalidValue, match=rf"^t\.csv:3: .*{problem}"):
        parse_trades([HEADER, good, line + "\n"], "t.csv")


def test_a_wrong_header_is_refused() -> None:
    with pytest.raises(InvalidValue, match=r"^t\.csv:1: header must be ts,price,qty,side"):
        parse_trades(["time,price,qty,side,id\n", "1,1,1,buy,1\n"], "t.csv")


# -- against the database ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def lockgate_env(app_role: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[dict[str, str | None], str]]:
    """A migrated database prepared for dbt, and the environment pointing lockgate at it."""
    from adapters.storage.migrate import migrate

    admin = create_database()
    try:
        run(migrate(admin, app_role=app_role))
        # Only this database and home: other LOCKGATE_/DBT_ settings of the caller are unset.
        env: dict[str, str | None] = {key: None for key in os.environ
                                      if key.startswith(("LOCKGATE_", "DBT_"))}
        env.update(LOCKGATE_DATABASE_URL=admin, LOCKGATE_APP_ROLE=app_role,
                   LOCKGATE_HOME=str(tmp_path_factory.mktemp("home")))
        yield env, admin
    finally:
        drop_database(admin)


def test_load_twice_adds_nothing_and_export_needs_a_build(
    lockgate_env: tuple[dict[str, str | None], str], tmp_path: Path,
) -> None:
    env, admin = lockgate_env

    # Act
    first = _lockgate(env, "load-trades", str(BTC_TRADES), str(ETH_TRADES))
    again = _lockgate(env, "load-trades", str(BTC_TRADES))
    unbuilt = _lockgate(env, "export-candles", "--exchange", "binance", "--symbol", "BTC/USDT",
                        "--timeframe", "1m", "--out", str(tmp_path / "x.csv"))

    # Assert
    assert first.exit_code == 0, first.output
    assert f"{BTC_TRADES.name}: BINANCE:BTC/USDT: 19904 trades, 19904 new" in first.stdout
    assert f"{ETH_TRADES.name}: BINANCE:ETH/USDT: 14515 trades, 14515 new" in first.stdout
    assert again.exit_code == 0 and "19904 trades, 0 new" in again.stdout, again.output
    assert query(admin, "select count(*) from trades")[0][0] == 19904 + 14515
    # Exactly the file's values (the candle tests in tests/dbt check what dbt builds of them)
    stored = query(admin, "select trade_id, traded_at, price, qty, aggressor from trades"
                   " where instrument_id = 'BINANCE:BTC/USDT' order by trade_id::bigint")
    assert [tuple(r) for r in stored] == [(t.trade_id, t.ts, t.price, t.qty, t.side)
                                          for t in read_trades(BTC_TRADES)]
    assert unbuilt.exit_code == 2 and "not built yet" in unbuilt.stderr, unbuilt.output


def test_a_bad_file_loads_nothing_and_names_the_line(
    lockgate_env: tuple[dict[str, str | None], str], tmp_path: Path,
) -> None:
    env, admin = lockgate_env
    good = tmp_path / "binance_SOL-USDT_trades_1.csv"
    good.write_text(HEADER + "1723161255342,150.25,2,buy,7\n1723161255400,150.3,1.5,sell,8\n")
    bad = tmp_path / "binance_ADA-USDT_trades_1.csv"
    bad.write_text(HEADER + "1723161255342,0.35,100,buy,1\n"
                   "1723161255342,0.35,100,buy,2\n1723161255343,0.35,-5,sell,3\n")

    # Act
    result = _lockgate(env, "load-trades", str(good), str(bad))

    # Assert: refused before anything was written, good file included
    assert result.exit_code == 2
    assert f"{bad}:4: qty '-5' is not a plain decimal number" in result.stderr
    assert query(admin, "select count(*) from trades where instrument_id in"
                 " ('BINANCE:SOL/USDT', 'BINANCE:ADA/USDT')")[0][0] == 0
    loaded = _lockgate(env, "load-trades", str(good))
    assert loaded.exit_code == 0, loaded.stderr
    rows = query(admin, "select traded_at, price, qty, aggressor from trades"
                 " where instrument_id = 'BINANCE:SOL/USDT' order by trade_id")
    assert [tuple(r) for r in rows] == [
        (datetime(2024, 8, 8, 23, 54, 15, 342000, tzinfo=UTC), Decimal("150.25"), Decimal(2),
         "buy"),
        (datetime(2024, 8, 8, 23, 54, 15, 400000, tzinfo=UTC), Decimal("150.3"),
         Decimal("1.5"), "sell")]

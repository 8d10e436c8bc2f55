"""`lockgate backtest` through click's CliRunner, plus one run of the installed script."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import lockgate

CANDLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "candles"
METRIC_KEYS = {"n_trades", "final_equity", "total_return", "max_drawdown", "sharpe", "sortino",
               "win_rate", "profit_factor", "exposure", "fees_paid"}
TRADES_HEADER = ["entry_ts", "entry_price", "exit_ts", "exit_price", "qty", "pnl", "fees"]
FAST_SLOW = ["--param", "fast=5", "--param", "slow=20"]


def _candles(name: str = "binance_BTC-USDT_1h.csv") -> Path:
    path = CANDLES / name
    assert path.is_file(), f"shared candle file missing: {path} (tests need shared/data/candles)"
    return path


def _refuse_constant(name: str) -> float:
    raise AssertionError(f"stdout JSON holds the non-standard constant {name}")


def _strict_json(text: str) -> dict:
    return json.loads(text, parse_constant=_refuse_constant)


def _run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(lockgate, ["backtest", *args], env=env)


def _bars_in_title(stdout: str) -> int:
    match = re.search(r"(\d+) bars", " ".join(stdout.split()))
    assert match, stdout
    return int(match.group(1))


# -- --json --------------------------------------------------------------------------------
def test_json_prints_exactly_one_object_with_the_metric_keys():
    # Act
    result = _run("--csv", str(_candles()), "--json")

    # Assert
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    figures = _strict_json(result.stdout)
    assert set(figures) == METRIC_KEYS
    assert isinstance(figures["n_trades"], int)
    for key in METRIC_KEYS - {"n_trades"}:
        assert figures[key] is None or isinstance(figures[key], int | float), key
    assert figures["final_equity"] > 0


@pytest.mark.parametrize("name", ["binance_ETH-USDT_1h.csv", "binance_NEO-BTC_1d.csv",
                                  "binance_XLM-BTC_5m.csv"])
def test_json_holds_no_nan_or_infinity_on_other_files(name):
    result = _run("--csv", str(_candles(name)), "--json", *FAST_SLOW)

    assert result.exit_code == 0, result.stderr
    assert set(_strict_json(result.stdout)) == METRIC_KEYS


def test_readable_table_mentions_final_equity():
    result = _run("--csv", str(_candles()), env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.stderr
    assert "final equity" in result.stdout
    assert "USDT" in result.stdout
    assert _bars_in_title(result.stdout) == 499


# -- malformed input -----------------------------------------------------------------------
GOOD_ROWS = ["ts,open,high,low,close,volume",
             "2024-01-01T00:00:00Z,100,101,99,100.5,1",
             "2024-01-01T01:00:00Z,100.5,102,100,101,2"]


@pytest.mark.parametrize("bad_row", [
    pytest.param("2024-01-01T02:00:00Z,101,101.5,100,102,1", id="high-below-close"),
    pytest.param("2024-01-01T02:00:00Z,101,nan,100,101,1", id="nan"),
    pytest.param("2024-01-01T02:00:00,101,102,100,101,1", id="naive-ts"),
    pytest.param("2024-01-01T02:00:00Z,101,102,100,101", id="missing-field"),
    pytest.param("2024-01-01T02:00:00Z,101,102,100,1.5e,1", id="dangling-exponent"),
    pytest.param("2024-01-01T02:00:00Z,101,1e999999999,100,101,1", id="exponent-overflow"),
])
def test_malformed_csv_exits_non_zero_naming_the_line_and_prints_nothing(tmp_path, bad_row):
    # Arrange
    path = tmp_path / "binance_BTC-USDT_1h.csv"
    path.write_text("\n".join([*GOOD_ROWS, bad_row]) + "\n", encoding="utf-8")

    # Act
    result = _run("--csv", str(path), "--json")

    # Assert
    assert result.exit_code == 2, (result.exit_code, result.exception)
    assert f"{path.name}:4:" in result.stderr
    assert result.stdout == ""


# -- parameter errors ----------------------------------------------------------------------
@pytest.mark.parametrize(("params", "message"), [
    (["fast=50", "slow=20"], "fast < slow"),
    (["fast=20", "slow=20"], "fast < slow"),
    (["speed=5"], "unknown field `speed`"),
    (["fast"], "expected NAME=VALUE"),
    (["=5"], "expected NAME=VALUE"),
    (["fast=5", "fast=6"], "fast given twice"),
    (["fast=abc"], "invalid parameters"),
])
def test_bad_params_are_refused(params, message):
    args = [item for param in params for item in ("--param", param)]

    result = _run("--csv", str(_candles()), "--json", *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args", [["--risk-pct", "1"], ["--stop-pct", "2"]])
def test_risk_pct_and_stop_pct_go_together(args):
    result = _run("--csv", str(_candles()), "--json", *args)

    assert result.exit_code == 2
    assert "--risk-pct and --stop-pct go together" in result.stderr
    assert result.stdout == ""


def test_position_pct_and_risk_pct_exclude_each_other():
    result = _run("--csv", str(_candles()), "--json", "--position-pct", "50",
                  "--risk-pct", "1", "--stop-pct", "2")

    assert result.exit_code == 2
    assert "not both" in result.stderr


@pytest.mark.parametrize(("option", "value"), [("--fee-bps", "-1"), ("--initial-cash", "0"),
                                               ("--risk-pct", "nan"), ("--fee-bps", "abc")])
def test_numeric_options_are_validated(option, value):
    result = _run("--csv", str(_candles()), "--json", option, value)

    assert result.exit_code == 2
    assert result.stdout == ""


def test_risk_per_trade_runs_with_both_flags():
    result = _run("--csv", str(_candles()), "--json", *FAST_SLOW, "--risk-pct", "1",
                  "--stop-pct", "2")

    assert result.exit_code == 0, result.stderr
    assert set(_strict_json(result.stdout)) == METRIC_KEYS


def test_a_tight_drawdown_halt_trades_less():
    free = _strict_json(_run("--csv", str(_candles()), "--json", *FAST_SLOW).stdout)
    halted = _strict_json(_run("--csv", str(_candles()), "--json", *FAST_SLOW,
                               "--max-drawdown-pct", "2").stdout)

    assert halted["n_trades"] < free["n_trades"]


# -- --trades-out --------------------------------------------------------------------------
# Hourly closes for fast=2/slow=3: down, up (entry fills at 07:00 open 8), down (exit fills at
# 12:00 open 8), then up to the end (entry fills at 16:00 open 9 and is still open).
TREND_CLOSES = [10, 9, 8, 7, 6, 5, 8, 11, 14, 17, 12, 8, 5, 3, 6, 9, 12, 15, 18, 21]


def _trend_csv(path: Path) -> Path:
    rows, previous = ["ts,open,high,low,close,volume"], TREND_CLOSES[0]
    for hour, close in enumerate(TREND_CLOSES):
        rows.append(f"2024-01-01T{hour:02d}:00:00Z,{previous},{max(previous, close)},"
                    f"{min(previous, close)},{close},1")
        previous = close
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_trades_out_writes_one_row_per_trade_and_an_open_last_trade(tmp_path):
    # Arrange
    candles = _trend_csv(tmp_path / "trend.csv")
    out = tmp_path / "trades.csv"

    # Act
    result = _run("--csv", str(candles), "--exchange", "test", "--symbol", "BTC/USDT", "--json",
                  "--param", "fast=2", "--param", "slow=3", "--trades-out", str(out))

    # Assert
    assert result.exit_code == 0, result.stderr
    figures = _strict_json(result.stdout)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == TRADES_HEADER
    assert len(rows) - 1 == figures["n_trades"] == 2
    closed, still_open = rows[1], rows[2]
    assert closed[:4] == ["2024-01-01T07:00:00Z", "8", "2024-01-01T12:00:00Z", "8"]
    assert Decimal(closed[5]) == -Decimal(closed[6])  # flat price: the loss is the fees
    assert still_open[:4] == ["2024-01-01T16:00:00Z", "9", "", ""]
    qty, pnl, fees = (Decimal(still_open[i]) for i in (4, 5, 6))
    assert qty > 0
    assert fees > 0
    # an open trade is marked to the last close (21) without an exit fee
    assert abs(pnl - (qty * (21 - 9) - fees)) < Decimal("1e-18")


def test_trades_out_on_a_shared_file_has_a_row_per_trade(tmp_path):
    out = tmp_path / "trades.csv"

    result = _run("--csv", str(_candles()), "--json", *FAST_SLOW, "--trades-out", str(out))

    assert result.exit_code == 0, result.stderr
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == TRADES_HEADER
    assert len(rows) - 1 == _strict_json(result.stdout)["n_trades"] > 0
    for row in rows[1:-1]:
        assert all(row), row  # only the last trade may be open
    assert [row[0] for row in rows[1:]] == sorted(row[0] for row in rows[1:])


# -- --timeframe ---------------------------------------------------------------------------
def test_timeframe_4h_on_a_1h_file_aggregates():
    hourly = _run("--csv", str(_candles()), env={"COLUMNS": "200"})
    four_hourly = _run("--csv", str(_candles()), "--timeframe", "4h", env={"COLUMNS": "200"})

    assert four_hourly.exit_code == 0, four_hourly.stderr
    assert "4h" in four_hourly.stdout
    assert _bars_in_title(four_hourly.stdout) < _bars_in_title(hourly.stdout)
    assert _bars_in_title(four_hourly.stdout) == 126


def test_timeframe_equal_to_the_files_is_a_no_op():
    plain = _run("--csv", str(_candles()), "--json")
    same = _run("--csv", str(_candles()), "--json", "--timeframe", "1h")

    assert _strict_json(same.stdout) == _strict_json(plain.stdout)


@pytest.mark.parametrize("timeframe", ["1m", "30m"])
def test_timeframe_finer_than_the_file_is_refused(timeframe):
    result = _run("--csv", str(_candles()), "--json", "--timeframe", timeframe)

    assert result.exit_code == 2
    assert f"cannot make {timeframe} bars" in result.stderr
    assert result.stdout == ""


def test_malformed_timeframe_is_refused():
    result = _run("--csv", str(_candles()), "--json", "--timeframe", "4x")

    assert result.exit_code == 2
    assert "timeframe must look like" in result.stderr


# -- the installed script ------------------------------------------------------------------
def test_installed_lockgate_script_prints_one_json_object():
    # Arrange
    script = Path(sys.executable).parent / "lockgate"
    assert script.is_file(), f"the lockgate script is not installed next to {sys.executable}"

    # Act
    completed = subprocess.run(
        [str(script), "backtest", "--csv", str(_candles()), "--json", *FAST_SLOW],
        capture_output=True, text=True, timeout=120, check=False,
    )

    # Assert
    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout.strip().splitlines()) == 1
    figures = _strict_json(completed.stdout)
    assert set(figures) == METRIC_KEYS
    assert isinstance(figures["n_trades"], int)
    assert figures["n_trades"] > 0

"""Hand-computed tiny cases for the reference backtest (tests/reference).

Each case writes a CSV of a few rows whose results were worked out on paper; expected
values are written as exact fractions here (never by calling the reference's helpers).
With fast=1 and slow=2 the fast average is the close and the slow one is the mean of the
last two closes, so "fast > slow" simply means "close went up" - easy to follow by hand.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

# Relative on purpose: works whether or not tests/ itself is a package.
from .ma_crossover_reference import (
    MalformedCsvError,
    crossover_signals,
    metrics_as_floats,
    run_reference,
)

HEADER = "ts,open,high,low,close,volume\n"
YEAR = 365 * 86400


def write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """rows: (ts, open, close); high/low are set around them, volume 1."""
    lines = [HEADER]
    for ts, o, c in rows:
        hi = max(Decimal(o), Decimal(c))
        lo = min(Decimal(o), Decimal(c))
        lines.append(f"{ts},{o},{hi},{lo},{c},1\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def hourly(i: int) -> str:
    return f"2020-01-01T{i:02d}:00:00Z"


def fr(x: Decimal | None) -> Fraction | None:
    return None if x is None else Fraction(x)


def close_to(actual: Decimal | None, expected: Fraction | float, rel: float = 1e-12) -> bool:
    assert actual is not None
    return math.isclose(float(actual), float(expected), rel_tol=rel, abs_tol=1e-15)


def sharpe_sortino_by_hand(
    returns: list[Fraction], min_spacing_s: int
) -> tuple[float | None, float | None]:
    n = len(returns)
    mean = sum(returns, Fraction(0)) / n
    var = sum(((r - mean) ** 2 for r in returns), Fraction(0)) / (n - 1)
    down = sum((min(r, Fraction(0)) ** 2 for r in returns), Fraction(0)) / n
    ann = math.sqrt(YEAR / min_spacing_s)
    sharpe = float(mean) / math.sqrt(var) * ann if var else None
    sortino = float(mean) / math.sqrt(down) * ann if down else None
    return sharpe, sortino


# ---------------------------------------------------------------------------------------
# Case 1: no cross at all (steadily rising closes) -> nothing happens, figures are null.
# ---------------------------------------------------------------------------------------
def test_no_signal_means_flat_run_and_null_ratios(tmp_path: Path) -> None:
    csv = write_csv(
        tmp_path / "flat.csv", [(hourly(i), str(10 + i), str(10 + i)) for i in range(6)]
    )
    m, trades = run_reference(csv, fast=1, slow=2, fee_bps=10, slippage_bps=0, initial_cash=10000)
    assert trades == []
    assert m["n_trades"] == 0
    assert m["final_equity"] == 10000
    assert m["total_return"] == 0
    assert m["max_drawdown"] == 0
    assert m["sharpe"] is None  # every return is 0: deviation 0 -> null
    assert m["sortino"] is None
    assert m["win_rate"] is None
    assert m["profit_factor"] is None
    assert m["exposure"] == 0
    assert m["fees_paid"] == 0


# ---------------------------------------------------------------------------------------
# Case 2: one round trip with a 1% fee and 1% slippage (fast=1, slow=2, cash 1000).
#
# row ts    open close   fast vs slow (at close)    action
#  0  00:00  10   10     -                          -
#  1  01:00  10    9     below (9 < 9.5)            - (t=1 < slow: no signal possible)
#  2  02:00   9   10     above (10 > 9.5)           cross above -> buy at row 3 open
#  3  03:00  10   12     above                      BUY at 10*1.01 = 10.1
#  4  04:00  12   11     below                      cross below -> sell at row 5 open
#  5  05:00  11   11     equal                      SELL at 11*0.99 = 10.89
#
# qty = 1000 / (10.1 * 1.01) = 1000/10.201; entry fee = qty*10.1*0.01 = 101/10.201;
# cash after entry = 0. Equity: row 3 = 12000/10.201, row 4 = 11000/10.201.
# proceeds = qty*10.89 = 10890/10.201; exit fee = 108.9/10.201;
# cash = 10781.1/10.201; pnl = cash - 1000 = 580.1/10.201; fees = 209.9/10.201.
# max drawdown: peak 12000/10.201, trough 10781.1/10.201 -> 1 - 0.898425 = 0.101575.
# ---------------------------------------------------------------------------------------
def test_one_round_trip_with_fee_and_slippage(tmp_path: Path) -> None:
    rows = [("10", "10"), ("10", "9"), ("9", "10"), ("10", "12"), ("12", "11"), ("11", "11")]
    csv = write_csv(tmp_path / "rt.csv", [(hourly(i), o, c) for i, (o, c) in enumerate(rows)])
    m, trades = run_reference(csv, fast=1, slow=2, fee_bps=100, slippage_bps=100, initial_cash=1000)

    d = Fraction(10201, 1000)  # 10.201
    assert len(trades) == 1
    (t,) = trades
    assert t["entry_ts"] == "2020-01-01T03:00:00Z"
    assert t["exit_ts"] == "2020-01-01T05:00:00Z"
    assert fr(t["entry_price"]) == Fraction("10.1")
    assert fr(t["exit_price"]) == Fraction("10.89")
    assert close_to(t["qty"], 1000 / d)
    assert close_to(t["pnl"], Fraction("580.1") / d)
    assert close_to(t["fees"], Fraction("209.9") / d)
    assert t["closed"] is True

    assert m["n_trades"] == 1
    assert close_to(m["final_equity"], Fraction("10781.1") / d)
    assert close_to(m["total_return"], Fraction("10781.1") / d / 1000 - 1)
    assert close_to(m["max_drawdown"], Fraction("0.101575"))
    assert m["win_rate"] == 1
    assert m["profit_factor"] is None  # no losing trade
    assert close_to(m["exposure"], Fraction(2, 6))  # rows 3 and 4 close in a position
    assert close_to(m["fees_paid"], Fraction("209.9") / d)

    returns = [
        Fraction(0),
        Fraction(0),
        Fraction(12000, 10201) - 1,
        Fraction(11, 12) - 1,
        Fraction("0.9801") - 1,  # 10781.1 / 11000
    ]
    sharpe, sortino = sharpe_sortino_by_hand(returns, 3600)
    assert sharpe is not None and sortino is not None
    assert close_to(m["sharpe"], sharpe)
    assert close_to(m["sortino"], sortino)


# ---------------------------------------------------------------------------------------
# Case 3: three trades (a winner, a loser, one left open), no fees, cash 1000, irregular
# timestamps including a repeated one (bars are rows; the smallest positive spacing is
# 30 min between rows 1 and 2).
#
# row ts     open close  fast vs slow  action
#  0  00:00   10   10    -
#  1  01:00   10    9    below
#  2  01:30    9   10    above         cross above -> buy row 3
#  3  01:30   10   12    above         BUY @10, qty 100, equity 1200
#  4  03:00   12   11    below         cross below -> sell row 5; equity 1100
#  5  04:00   11   11    EQUAL         SELL @11 (pnl +100); equal is not "below": no signal
#  6  05:00   11   13    above         prev equal counts as <=: cross above -> buy row 7
#  7  06:00   13   12    below         BUY @13, qty 1100/13; equity 13200/13; cross below
#  8  07:00   12   14    above         SELL @12 (pnl -1100/13); cross above -> buy row 9
#  9  08:00   14   15    above         BUY @14, qty 13200/182; last row: stays open,
#                                      marked at 15 -> equity 99000/91, pnl 13200/182
# ---------------------------------------------------------------------------------------
def test_three_trades_open_position_ties_and_irregular_times(tmp_path: Path) -> None:
    times = [
        "00:00",
        "01:00",
        "01:30",
        "01:30",
        "03:00",
        "04:00",
        "05:00",
        "06:00",
        "07:00",
        "08:00",
    ]
    rows = [
        ("10", "10"),
        ("10", "9"),
        ("9", "10"),
        ("10", "12"),
        ("12", "11"),
        ("11", "11"),
        ("11", "13"),
        ("13", "12"),
        ("12", "14"),
        ("14", "15"),
    ]
    csv = write_csv(
        tmp_path / "three.csv",
        [(f"2020-01-01T{ts}:00Z", o, c) for ts, (o, c) in zip(times, rows, strict=True)],
    )
    m, trades = run_reference(csv, fast=1, slow=2, fee_bps=0, slippage_bps=0, initial_cash=1000)

    assert [(t["entry_ts"][11:16], t["exit_ts"] and t["exit_ts"][11:16]) for t in trades] == [
        ("01:30", "04:00"),
        ("06:00", "07:00"),
        ("08:00", None),
    ]
    t1, t2, t3 = trades
    assert fr(t1["qty"]) == 100 and fr(t1["pnl"]) == 100 and t1["fees"] == 0
    assert close_to(t2["qty"], Fraction(1100, 13))
    assert close_to(t2["pnl"], Fraction(-1100, 13))
    assert t3["exit_price"] is None and t3["closed"] is False
    assert fr(t3["entry_price"]) == 14
    assert close_to(t3["qty"], Fraction(13200, 182))
    assert close_to(t3["pnl"], Fraction(13200, 182))  # qty * (15 - 14), no fee

    assert m["n_trades"] == 3  # entries, the open one included
    assert close_to(m["final_equity"], Fraction(99000, 91))
    assert close_to(m["total_return"], Fraction(8, 91))
    assert close_to(m["max_drawdown"], Fraction(2, 13))  # 1200 -> 13200/13
    assert fr(m["win_rate"]) == Fraction(1, 2)  # the open trade is left out
    assert close_to(m["profit_factor"], Fraction(13, 11))  # 100 / (1100/13)
    assert fr(m["exposure"]) == Fraction(4, 10)  # rows 3, 4, 7, 9
    assert m["fees_paid"] == 0

    returns = [
        Fraction(0),
        Fraction(0),
        Fraction(1, 5),
        Fraction(-1, 12),
        Fraction(0),
        Fraction(0),
        Fraction(-1, 13),
        Fraction(0),
        Fraction(1, 14),
    ]
    sharpe, sortino = sharpe_sortino_by_hand(returns, 1800)
    assert close_to(m["sharpe"], sharpe)  # type: ignore[arg-type]
    assert close_to(m["sortino"], sortino)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Case 4: warm-up. fast=2, slow=3, closes 10, 9, 12, 13, 14: at t=2 fast (10.5) is above
# slow (31/3) but slow is undefined at t=1, so there is no cross; afterwards fast stays
# above slow. No trade at all.
# ---------------------------------------------------------------------------------------
def test_no_cross_before_both_averages_exist_at_previous_row(tmp_path: Path) -> None:
    closes = ["10", "9", "12", "13", "14"]
    csv = write_csv(tmp_path / "warm.csv", [(hourly(i), c, c) for i, c in enumerate(closes)])
    m, trades = run_reference(csv, fast=2, slow=3, fee_bps=0, slippage_bps=0, initial_cash=1000)
    assert trades == [] and m["n_trades"] == 0 and m["exposure"] == 0


def test_first_possible_signal_is_at_row_slow(tmp_path: Path) -> None:
    # fast=2, slow=3: closes 10, 10, 10, 12 -> at t=2 averages are equal, at t=3 fast 11 >
    # slow 32/3: cross above at t=3 = slow, filled at row 4's open (11).
    closes = ["10", "10", "10", "12", "11"]
    opens = ["10", "10", "10", "12", "11"]
    csv = write_csv(
        tmp_path / "first.csv",
        [(hourly(i), o, c) for i, (o, c) in enumerate(zip(opens, closes, strict=True))],
    )
    m, trades = run_reference(csv, fast=2, slow=3, fee_bps=0, slippage_bps=0, initial_cash=1100)
    assert len(trades) == 1
    assert trades[0]["entry_ts"] == hourly(4) and trades[0]["exit_ts"] is None
    assert fr(trades[0]["qty"]) == 100
    assert m["final_equity"] == 1100 and m["exposure"] == Decimal("0.2")
    assert m["win_rate"] is None and m["profit_factor"] is None


# ---------------------------------------------------------------------------------------
# Case 5: a signal on the last row never fills; a cross below while flat does nothing.
# ---------------------------------------------------------------------------------------
def test_signal_on_last_row_never_fills(tmp_path: Path) -> None:
    # fast=1, slow=2: closes 10, 9, 10 -> cross above at t=2, the last row.
    csv = write_csv(
        tmp_path / "last.csv", [(hourly(i), c, c) for i, c in enumerate(["10", "9", "10"])]
    )
    m, trades = run_reference(csv, fast=1, slow=2, fee_bps=10, slippage_bps=0, initial_cash=1000)
    assert trades == [] and m["n_trades"] == 0 and m["final_equity"] == 1000


def test_cross_below_when_flat_does_nothing(tmp_path: Path) -> None:
    # fast=1, slow=2: closes 10, 11, 10, 10 -> cross below at t=2 while flat: nothing.
    csv = write_csv(
        tmp_path / "below.csv", [(hourly(i), c, c) for i, c in enumerate(["10", "11", "10", "10"])]
    )
    assert crossover_signals([Decimal(x) for x in ["10", "11", "10", "10"]], 1, 2) == [0, 0, -1, 0]
    m, trades = run_reference(csv, fast=1, slow=2, fee_bps=10, slippage_bps=0, initial_cash=1000)
    assert trades == [] and m["fees_paid"] == 0


# ---------------------------------------------------------------------------------------
# Case 6: exact comparison. fast=1, slow=3, closes 0.1, 0.1, 0.1, 0.3, 0.2, 0.3, 0.3.
# t=3: fast 0.3 > slow 0.5/3, and at t=2 they were equal -> cross above, buy at row 4.
# t=4: fast 0.2 == slow 0.6/3 exactly. In floats (0.1+0.3+0.2)/3 = 0.20000000000000004 > 0.2,
#      which would fake a cross below; exactly, they are equal: no signal.
# t=5: fast 0.3 > slow 0.8/3, prev equal -> a cross above, but we are long: nothing.
# So one entry, still open at the end.
# ---------------------------------------------------------------------------------------
def test_equal_averages_compare_equal_and_cross_above_when_long_is_ignored(
    tmp_path: Path,
) -> None:
    closes = ["0.1", "0.1", "0.1", "0.3", "0.2", "0.3", "0.3"]
    assert (0.1 + 0.3 + 0.2) / 3 != 0.2  # the float trap this case is about
    assert crossover_signals([Decimal(c) for c in closes], 1, 3) == [0, 0, 0, 1, 0, 1, 0]
    csv = write_csv(tmp_path / "exact.csv", [(hourly(i), c, c) for i, c in enumerate(closes)])
    m, trades = run_reference(csv, fast=1, slow=3, fee_bps=0, slippage_bps=0, initial_cash=1000)
    assert len(trades) == 1
    assert trades[0]["entry_ts"] == hourly(4) and trades[0]["exit_ts"] is None
    assert fr(trades[0]["qty"]) == 5000  # 1000 / 0.2
    assert m["final_equity"] == 1500  # 5000 * 0.3
    assert fr(m["max_drawdown"]) == 0
    assert close_to(m["exposure"], Fraction(3, 7))


def test_metrics_as_floats_keeps_null_and_ints(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "f.csv", [(hourly(i), "1", "1") for i in range(3)])
    m, _ = run_reference(csv, fast=1, slow=2, fee_bps=10, slippage_bps=0, initial_cash=10000)
    f = metrics_as_floats(m)
    assert f["n_trades"] == 0 and isinstance(f["n_trades"], int)
    assert f["sharpe"] is None and f["final_equity"] == 10000.0


# ---------------------------------------------------------------------------------------
# Malformed input: the error names the 1-based line of the file (header = line 1).
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bad_line", "why"),
    [
        ("2020-01-01T02:00:00Z,10,10,10,10", "five fields"),
        ("2020-01-01T02:00:00Z,10,10,10,abc,1", "non-numeric close"),
        ("2020-01-01T02:00:00Z,10,10,10,nan,1", "NaN close"),
        ("2020-01-01 02:00:00,10,10,10,10,1", "timestamp without Z"),
        ("2020-13-01T02:00:00Z,10,10,10,10,1", "impossible month"),
        ("", "blank line in the middle"),
        ("2020-01-01T02:00:00Z,0,10,10,10,1", "zero open"),
    ],
)
def test_malformed_row_names_its_line(tmp_path: Path, bad_line: str, why: str) -> None:
    good = [f"{hourly(i)},10,10,10,10,1" for i in range(2)]
    text = HEADER + "\n".join([*good, bad_line, f"{hourly(3)},10,10,10,10,1"]) + "\n"
    csv = tmp_path / "bad.csv"
    csv.write_text(text, encoding="utf-8")
    with pytest.raises(MalformedCsvError, match=r"^line 4: ") as info:
        run_reference(csv, fast=1, slow=2, fee_bps=10, slippage_bps=0, initial_cash=1000)
    assert info.value.line_no == 4, why


def test_bad_header_is_line_1(tmp_path: Path) -> None:
    csv = tmp_path / "hdr.csv"
    csv.write_text(
        "time,open,high,low,close,volume\n2020-01-01T00:00:00Z,1,1,1,1,1\n", encoding="utf-8"
    )
    with pytest.raises(MalformedCsvError, match=r"^line 1: "):
        run_reference(csv, fast=1, slow=2, fee_bps=10, slippage_bps=0, initial_cash=1000)

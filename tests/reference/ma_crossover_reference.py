"""Independent reference for `lockgate backtest --strategy ma_crossover`.

This module exists for one purpose: to check the product against the written spec of
`lockgate backtest` (simple-moving-average crossover, long-only, all-in position with
`--position-pct 100`, no risk flags). It is written from the spec alone and must NEVER
import product code (domain, strategies, risk, engine, adapters, live, orchestration,
api, cli): a reference that shares code with the thing it checks checks nothing.

It is deliberately plain and slow. All money maths uses `decimal.Decimal` in a local
context with 50 significant digits, starting from the CSV's own decimal text, and the
moving-average comparison is exact (an `Inexact` trap guards it). Only the figures handed
back are in Decimal; the caller converts them to float for comparison.

Spec summary, as implemented here:

* CSV `ts,open,high,low,close,volume`, ts = bar open, ISO-8601 UTC ending in `Z`. A
  malformed row raises `MalformedCsvError` naming its 1-based line in the file (the header
  is line 1); nothing is skipped. Only the final newline may leave an empty last line.
* Bars are rows. sma_n[t] = mean of close[t-n+1 .. t], defined for t >= n-1.
  Cross above at t: fast[t] > slow[t] and fast[t-1] <= slow[t-1], both averages defined at
  t-1 (so t >= slow when fast < slow). Cross below is the mirror image. Averages are
  compared as `sum_fast * slow` against `sum_slow * fast`.
* A signal on row t fills at the open of row t+1; a signal on the last row never fills.
  Cross above while long and cross below while flat do nothing.
* Entry: price = open * (1 + slip); qty = cash / (price * (1 + fee)); fee = qty*price*fee.
  Exit: price = open * (1 - slip); proceeds = qty * price; fee = proceeds * fee.
* Equity at each row's close = cash + qty * close. An open position at the end is marked
  to the last close and never closed.
* Statistics as in the spec: total_return, max_drawdown (positive), sharpe and sortino
  (annualised by sqrt(365*86400 / smallest positive spacing between consecutive rows)),
  win_rate and profit_factor over closed trades, exposure, fees_paid, n_trades.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

PRECISION = 50
HEADER = ["ts", "open", "high", "low", "close", "volume"]
SECONDS_PER_YEAR = 365 * 86400

# A plain decimal number as written in the CSVs: digits, optional fraction, optional exponent.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class MalformedCsvError(ValueError):
    """A CSV row the reference refuses; the message names the 1-based file line."""

    def __init__(self, line_no: int, reason: str) -> None:
        super().__init__(f"line {line_no}: {reason}")
        self.line_no = line_no


@dataclass(frozen=True)
class Row:
    line_no: int
    ts_text: str
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def _parse_ts(text: str, line_no: int) -> datetime:
    if not text.endswith("Z"):
        raise MalformedCsvError(line_no, f"timestamp {text!r} is not ISO-8601 UTC ending in Z")
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError as exc:
        raise MalformedCsvError(line_no, f"bad timestamp {text!r}") from exc
    if "T" not in text:
        raise MalformedCsvError(line_no, f"timestamp {text!r} has no time part")
    return parsed.astimezone(UTC)


def _parse_number(text: str, name: str, line_no: int) -> Decimal:
    if not _NUMBER.fullmatch(text):
        raise MalformedCsvError(line_no, f"{name} {text!r} is not a decimal number")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already refuses these
        raise MalformedCsvError(line_no, f"{name} {text!r} is not a decimal number") from exc
    return value


def read_candles(csv_path: str | Path) -> list[Row]:
    """Read the candle CSV strictly; raise MalformedCsvError naming the first bad line."""
    text = Path(csv_path).read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if not lines:
        raise MalformedCsvError(1, "empty file, expected a header")
    if lines[0].rstrip("\r").split(",") != HEADER:
        raise MalformedCsvError(1, f"header must be {','.join(HEADER)}")
    rows: list[Row] = []
    for index, raw in enumerate(lines[1:]):
        line_no = index + 2
        line = raw.rstrip("\r")
        fields = line.split(",")
        if len(fields) != len(HEADER):
            raise MalformedCsvError(line_no, f"expected 6 fields, got {len(fields)}: {line!r}")
        ts = _parse_ts(fields[0], line_no)
        o, h, lo, c, v = (
            _parse_number(f, n, line_no) for f, n in zip(fields[1:], HEADER[1:], strict=True)
        )
        for name, value in (("open", o), ("high", h), ("low", lo), ("close", c)):
            if value <= 0:
                raise MalformedCsvError(line_no, f"{name} must be positive, got {value}")
        if v < 0:
            raise MalformedCsvError(line_no, f"volume must not be negative, got {v}")
        rows.append(Row(line_no, fields[0], ts, o, h, lo, c, v))
    return rows


def _window_sum(closes: list[Decimal], t: int, n: int) -> Decimal:
    """Exact sum of close[t-n+1 .. t] (the caller guarantees t >= n-1)."""
    total = Decimal(0)
    for i in range(t - n + 1, t + 1):
        total += closes[i]
    return total


def crossover_signals(closes: list[Decimal], fast: int, slow: int) -> list[int]:
    """+1 for a cross above at row t, -1 for a cross below, 0 otherwise (exact maths)."""
    signals = [0] * len(closes)
    longest = max(fast, slow)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        ctx.traps[Inexact] = True  # the comparison must be exact, never rounded

        # side[t] = sign of (mean_fast - mean_slow) at row t, computed exactly as
        # sum_fast * slow - sum_slow * fast; None while either average is undefined.
        side: list[int | None] = [None] * len(closes)
        for t in range(longest - 1, len(closes)):
            lhs = _window_sum(closes, t, fast) * slow
            rhs = _window_sum(closes, t, slow) * fast
            side[t] = (lhs > rhs) - (lhs < rhs)

        # Both averages defined at t-1 means t-1 >= longest-1, i.e. t >= longest.
        for t in range(longest, len(closes)):
            now, before = side[t], side[t - 1]
            assert now is not None and before is not None
            if now > 0 and before <= 0:
                signals[t] = 1
            elif now < 0 and before >= 0:
                signals[t] = -1
    return signals


def _ts_seconds_between(a: datetime, b: datetime) -> Decimal:
    delta = b - a
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1000000


def run_reference(
    csv_path: str | Path,
    fast: int,
    slow: int,
    fee_bps: float | int | str | Decimal,
    slippage_bps: float | int | str | Decimal,
    initial_cash: float | int | str | Decimal,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the spec's MA-crossover backtest; return (metrics, trades).

    metrics: n_trades (int); final_equity, total_return, max_drawdown, sharpe, sortino,
    win_rate, profit_factor, exposure, fees_paid (Decimal, or None where the spec says null).
    trades: one dict per entry, in order: entry_ts, entry_price, exit_ts, exit_price, qty,
    pnl, fees, closed. exit_ts and exit_price are None for the position still open.
    Numeric arguments given as float are read through their shortest repr (7.5 -> "7.5").
    """
    if fast < 1 or slow < 1:
        raise ValueError("fast and slow must be positive")
    rows = read_candles(csv_path)
    if not rows:
        raise ValueError("no data rows")

    def dec(x: float | int | str | Decimal) -> Decimal:
        return x if isinstance(x, Decimal) else Decimal(str(x))

    with localcontext() as ctx:
        ctx.prec = PRECISION
        fee_rate = dec(fee_bps) / 10000
        slip = dec(slippage_bps) / 10000
        initial = dec(initial_cash)

        closes = [r.close for r in rows]
        signals = crossover_signals(closes, fast, slow)

        cash = initial
        qty = Decimal(0)
        trades: list[dict[str, Any]] = []
        open_trade: dict[str, Any] | None = None
        pending = 0  # the signal of the previous row, to fill at this row's open
        equity: list[Decimal] = []
        rows_in_position = 0
        fees_paid = Decimal(0)

        for t, row in enumerate(rows):
            # 1. Fill the previous row's signal at this row's open.
            if pending == 1 and open_trade is None:
                price = row.open * (1 + slip)
                qty = cash / (price * (1 + fee_rate))
                fee = qty * price * fee_rate
                cost = qty * price + fee
                cash = cash - cost
                fees_paid += fee
                open_trade = {
                    "entry_ts": row.ts_text,
                    "entry_price": price,
                    "qty": qty,
                    "entry_fee": fee,
                    "entry_cost": cost,
                }
            elif pending == -1 and open_trade is not None:
                price = row.open * (1 - slip)
                proceeds = qty * price
                fee = proceeds * fee_rate
                cash = cash + proceeds - fee
                fees_paid += fee
                trades.append(
                    {
                        "entry_ts": open_trade["entry_ts"],
                        "entry_price": open_trade["entry_price"],
                        "exit_ts": row.ts_text,
                        "exit_price": price,
                        "qty": open_trade["qty"],
                        "pnl": (proceeds - fee) - open_trade["entry_cost"],
                        "fees": open_trade["entry_fee"] + fee,
                        "closed": True,
                    }
                )
                open_trade = None
                qty = Decimal(0)
            pending = 0

            # 2. Mark to this row's close.
            equity.append(cash + qty * row.close)
            if open_trade is not None:
                rows_in_position += 1

            # 3. This row's signal, acted on only if the position allows it and a next row
            #    exists (a signal on the last row never fills).
            if t + 1 < len(rows):
                if signals[t] == 1 and open_trade is None:
                    pending = 1
                elif signals[t] == -1 and open_trade is not None:
                    pending = -1

        last_close = rows[-1].close
        if open_trade is not None:
            trades.append(
                {
                    "entry_ts": open_trade["entry_ts"],
                    "entry_price": open_trade["entry_price"],
                    "exit_ts": None,
                    "exit_price": None,
                    "qty": open_trade["qty"],
                    "pnl": open_trade["qty"] * last_close
                    - open_trade["qty"] * open_trade["entry_price"]
                    - open_trade["entry_fee"],
                    "fees": open_trade["entry_fee"],
                    "closed": False,
                }
            )

        metrics = _statistics(rows, equity, trades, initial)
        metrics["exposure"] = Decimal(rows_in_position) / len(rows)
        metrics["fees_paid"] = fees_paid
    return metrics, trades


def _statistics(
    rows: list[Row],
    equity: list[Decimal],
    trades: list[dict[str, Any]],
    initial: Decimal,
) -> dict[str, Any]:
    """The spec's figures from the row-close equity curve and the trade list.

    Runs inside run_reference's 50-digit context.
    """
    final = equity[-1]

    peak = equity[0]
    max_dd = Decimal(0)
    for e in equity:
        peak = max(peak, e)
        max_dd = max(max_dd, 1 - e / peak)

    returns = [equity[i] / equity[i - 1] - 1 for i in range(1, len(equity))]
    spacings = [_ts_seconds_between(rows[i - 1].ts, rows[i].ts) for i in range(1, len(rows))]
    positive_spacings = [s for s in spacings if s > 0]

    sharpe: Decimal | None = None
    sortino: Decimal | None = None
    if len(returns) >= 2 and positive_spacings:
        annualise = (Decimal(SECONDS_PER_YEAR) / min(positive_spacings)).sqrt()
        n = len(returns)
        mean = sum(returns, Decimal(0)) / n
        variance = sum(((r - mean) ** 2 for r in returns), Decimal(0)) / (n - 1)
        if variance != 0:
            sharpe = mean / variance.sqrt() * annualise
        downside = sum((min(r, Decimal(0)) ** 2 for r in returns), Decimal(0)) / n
        if downside != 0:
            sortino = mean / downside.sqrt() * annualise

    closed = [tr["pnl"] for tr in trades if tr["closed"]]
    wins = [p for p in closed if p > 0]
    losses = [p for p in closed if p < 0]
    win_rate = Decimal(len(wins)) / len(closed) if closed else None
    profit_factor = (
        sum(wins, Decimal(0)) / abs(sum(losses, Decimal(0))) if closed and losses else None
    )

    return {
        "n_trades": len(trades),
        "final_equity": final,
        "total_return": final / initial - 1,
        "max_drawdown": max_dd,
        "sharpe": sharpe,
        "sortino": sortino,
        "win_rate": win_rate,
        "profit_factor": profit_factor,
    }


def metrics_as_floats(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics as the CLI's JSON would carry them: int, float or None."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if value is None or isinstance(value, int):
            out[key] = value
        else:
            out[key] = float(value)
    return out

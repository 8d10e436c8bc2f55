"""Bench: ma_crossover over one year of synthetic 1-minute bars, three ways in one run.

1. Lockgate's kernel, through ``engine.backtest.run_backtest`` (what ``lockgate backtest`` calls),
2. a plain-Python loop written for this one strategy (the floor of pure-Python overhead),
3. backtrader 1.9 with cheat-on-open, so it can size at the next bar's open as we do.

All three must give the same trades and final equity (1e-9 relative) before any figure is
printed. Prices sit on a 0.25 tick grid so float sums in the baselines are exact too.
Last line: ``kernel_bars_per_s=<n> ratio_vs_backtrader=<x>`` (plus the plain loop's figures).
Goal: kernel >= 20x backtrader's bars/s, in pure Python.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from decimal import Decimal

import numpy as np

BARS = 525_600
FAST, SLOW = 20, 50
FEE = 0.001  # 10 bps per side
CASH = 10_000.0
TICKS_PER_USD = 4  # 0.25 tick: exact in binary floating point
SEED = 20_260_101
START_NS = 1_672_531_200 * 10**9  # 2023-01-01T00:00:00Z


def synthetic_bars(n: int, seed: int) -> dict[str, np.ndarray]:
    """Return a random-walk year of 1m bars in ticks (int64): open, high, low, close, volume."""
    rng = np.random.default_rng(seed)
    # Persistent drift regimes make crossings realistic (a few hundred trades, not thousands).
    regime = np.repeat(rng.normal(0, 0.6, size=n // 720 + 1), 720)[:n]
    steps = np.rint(rng.normal(regime, 6.0, size=n)).astype(np.int64)
    close = 30_000 * TICKS_PER_USD + np.cumsum(steps)
    close = np.maximum(close, 1_000 * TICKS_PER_USD)
    open_ = np.concatenate([[close[0]], close[:-1]])
    wick = rng.integers(0, 8, size=(2, n))
    high = np.maximum(open_, close) + wick[0]
    low = np.minimum(open_, close) - wick[1]
    volume = rng.integers(1, 1_000, size=n)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


# -- 1. the kernel ------------------------------------------------------------------------------
def run_kernel(bars: dict[str, np.ndarray]) -> object:
    """Run the product path: frame -> ``BarSeries`` -> ``run_backtest`` -> metrics."""
    from domain.instruments import InstrumentId
    from domain.series import BarSeries
    from domain.timeframes import Timeframe
    from engine.backtest import BacktestConfig, run_backtest
    from risk.gate import RiskEngine
    from strategies.ma_crossover import MACrossConfig, MACrossover

    instrument = InstrumentId.parse("BENCH:BTC/USDT")
    scale = 100 // TICKS_PER_USD  # ticks of 0.25 -> raw cents (precision 2)
    n = len(bars["close"])
    series = BarSeries(
        instrument, Timeframe(60), 2, 0,
        ts_open=(START_NS + np.arange(n, dtype=np.int64) * 60_000_000_000).tolist(),
        open=(bars["open"] * scale).tolist(), high=(bars["high"] * scale).tolist(),
        low=(bars["low"] * scale).tolist(), close=(bars["close"] * scale).tolist(),
        volume=bars["volume"].tolist(),
    )
    strategy = MACrossover(MACrossConfig(fast=FAST, slow=SLOW), [instrument])
    return run_backtest(series, strategy, RiskEngine(), _kernel_config(BacktestConfig, Decimal))


def kernel_outcome(result: object) -> tuple[list[tuple[int, float, float]], float]:
    """Fills (bar index, price, signed qty) and final equity of a kernel run (untimed)."""
    fills = [((f.ts_event - START_NS) // 60_000_000_000, float(f.last_px),
              float(f.last_qty) * f.side.sign)
             for f in result.fills]  # type: ignore[attr-defined]
    return fills, result.metrics.final_equity  # type: ignore[attr-defined]


def _kernel_config(config_type: type, decimal: type) -> object:
    return config_type(initial_cash=decimal(str(CASH)), fee_bps=decimal(str(FEE * 10_000)))


# -- 2. a plain-Python loop -----------------------------------------------------------------------
def run_plain(bars: dict[str, np.ndarray]) -> tuple[list[tuple[int, float, float]], float]:
    """The same semantics in one hand-written loop (floats for money, ints for the sums)."""
    opens = (bars["open"] / TICKS_PER_USD).tolist()
    closes_ticks = bars["close"].tolist()
    n = len(closes_ticks)
    cash, qty = CASH, 0.0
    sum_fast = sum_slow = 0
    previous = None
    pending = 0
    fills = []
    for i in range(n):
        if pending:
            price = opens[i]
            if pending > 0:
                qty = cash / (price * (1 + FEE))
                cash = 0.0
                fills.append((i, price, qty))
            else:
                cash += qty * price * (1 - FEE)
                fills.append((i, price, -qty))
                qty = 0.0
            pending = 0
        c = closes_ticks[i]
        sum_fast += c
        sum_slow += c
        if i >= FAST:
            sum_fast -= closes_ticks[i - FAST]
        if i >= SLOW:
            sum_slow -= closes_ticks[i - SLOW]
        if i >= SLOW - 1:
            spread = sum_fast * SLOW - sum_slow * FAST
            if previous is not None:
                if spread > 0 >= previous and qty == 0:
                    pending = 1
                elif spread < 0 <= previous and qty > 0:
                    pending = -1
            previous = spread
        if i == n - 1:
            pending = 0
    final = cash + qty * closes_ticks[-1] / TICKS_PER_USD
    return fills, final


# -- 3. backtrader --------------------------------------------------------------------------------
def run_backtrader(bars: dict[str, np.ndarray]) -> tuple[list[tuple[int, float, float]], float]:
    """Run backtrader with cheat-on-open; signals at the close, orders sized at the next open."""
    import backtrader as bt
    import pandas as pd

    frame = pd.DataFrame({
        "open": bars["open"] / TICKS_PER_USD, "high": bars["high"] / TICKS_PER_USD,
        "low": bars["low"] / TICKS_PER_USD, "close": bars["close"] / TICKS_PER_USD,
        "volume": bars["volume"].astype(float),
    }, index=pd.date_range("2023-01-01", periods=len(bars["close"]), freq="min"))
    fills: list[tuple[int, float, float]] = []

    class Cross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            # Exact sums of tick-grid floats, compared like the kernel does.
            self.sum_fast = bt.indicators.SumN(self.data.close, period=FAST)
            self.sum_slow = bt.indicators.SumN(self.data.close, period=SLOW)
            self.pending = 0
            self.previous: float | None = None

        def next_open(self) -> None:
            if self.pending > 0:
                price = self.data.open[0]
                # A hair under all-in: float rounding must not make the cost exceed the cash,
                # which backtrader's broker would refuse as a margin call (1e-12 << 1e-9 check).
                self.buy(size=self.broker.getcash() / (price * (1 + FEE)) * (1 - 1e-12))
            elif self.pending < 0:
                self.close()
            self.pending = 0

        def next(self) -> None:
            spread = self.sum_fast[0] * SLOW - self.sum_slow[0] * FAST
            previous, self.previous = self.previous, spread
            if previous is None or len(self.data) == self.data.buflen():
                return
            if spread > 0 >= previous and not self.position:
                self.pending = 1
            elif spread < 0 <= previous and self.position:
                self.pending = -1

        def notify_order(self, order: object) -> None:
            if order.status == order.Completed:  # type: ignore[attr-defined]
                fills.append((len(self.data) - 1, order.executed.price,  # type: ignore[attr-defined]
                              order.executed.size))  # type: ignore[attr-defined]

    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(Cross)
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=FEE)
    cerebro.broker.set_checksubmit(False)  # the all-in size uses the cash to the last cent
    cerebro.run()
    return fills, cerebro.broker.getvalue()


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def check_agree(name: str, ref: tuple[list, float], other: tuple[list, float]) -> None:
    """Stop the bench unless ``other`` made the reference's trades and final equity."""
    ref_fills, ref_final = ref
    fills, final = other
    if len(fills) != len(ref_fills):
        sys.exit(f"{name}: {len(fills)} fills, kernel made {len(ref_fills)}")
    for k, (mine, theirs) in enumerate(zip(ref_fills, fills, strict=True)):
        if mine[0] != theirs[0] or not (_same(mine[1], theirs[1]) and _same(mine[2], theirs[2])):
            sys.exit(f"{name}: fill {k} differs: kernel {mine} vs {theirs}")
    if not _same(ref_final, final):
        sys.exit(f"{name}: final equity {final} vs kernel {ref_final}")


def timed(fn, *args):  # type: ignore[no-untyped-def]
    """Return (result, seconds)."""
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main() -> None:
    """Run the three, check they agree, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=BARS)
    parser.add_argument("--skip-backtrader", action="store_true",
                        help="only for a quick look; the goal is measured against backtrader")
    args = parser.parse_args()
    bars = synthetic_bars(args.bars, SEED)
    kernel_result, t_kernel = timed(run_kernel, bars)
    kernel = kernel_outcome(kernel_result)
    plain, t_plain = timed(run_plain, bars)
    check_agree("plain loop", kernel, plain)
    print(f"kernel: {len(kernel[0])} fills, final equity {kernel[1]:.6f}, {t_kernel:.2f} s",
          file=sys.stderr)
    print(f"plain loop: {t_plain:.2f} s (agrees)", file=sys.stderr)
    figures = {"bars": args.bars, "kernel_bars_per_s": round(args.bars / t_kernel),
               "plain_bars_per_s": round(args.bars / t_plain)}
    if not args.skip_backtrader:
        backtrader, t_bt = timed(run_backtrader, bars)
        check_agree("backtrader", kernel, backtrader)
        print(f"backtrader: {t_bt:.2f} s (agrees)", file=sys.stderr)
        figures["backtrader_bars_per_s"] = round(args.bars / t_bt)
        figures["ratio_vs_backtrader"] = round(t_bt / t_kernel, 2)
    figures["ratio_plain_vs_kernel"] = round(t_kernel / t_plain, 2)
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()

"""Bench: a 100-pair ``ma_crossover`` sweep over a synthetic year of 1m bars, Lockgate vs vectorbt.

Both sides run on the same bars (``bench/backtest.py``'s seeded random walk, on a 0.25 tick grid
so float sums on the vectorbt side are exact), each in its own child process, one after the
other, and are measured the same way: wall time of the sweep after a warm-up (imports, numba's
JIT compilation and the strategy's code hash are not counted) and the child's peak resident
memory (``ru_maxrss``: numpy, polars and numba allocate outside tracemalloc's view).

1. Lockgate: ``research.sweeps.run_sweep_partition`` once per pair, the function one Dagster
   sweep partition runs (it dispatches ``ma_crossover`` to the vectorised fast path, which a
   test shows agrees with the kernel trade for trade; one pair is also re-run through the
   kernel here, untimed, as a check on these bars).
2. vectorbt: moving averages and crossings with vectorbt's own tools, signals shifted to the
   next bar's open, ``Portfolio.from_signals`` over all 100 columns at once, final equity from
   ``value().iloc[-1]`` (STACK.md: ``final_value()`` carries cancellation error) and the trade
   count.

Before any figure is printed, every pair must show the same number of trades and the same final
equity (1e-9 relative) on both sides. Cash is large, because vectorbt silently drops orders
below its minimum size (STACK.md). Goals: time <= 0.1x vectorbt's, peak memory <= 0.2x.
Last line: ``sweep_s=<t> ratio_vs_vectorbt=<x> memory_ratio_vs_vectorbt=<y>``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from backtest import BARS, FEE, SEED, START_NS, TICKS_PER_USD, synthetic_bars

PAIRS = [(fast, slow) for fast in range(10, 60, 5) for slow in range(60, 260, 20)]
CASH = 1_000_000
RAW_PER_TICK = 100 // TICKS_PER_USD  # prices at precision 2 (cents): a 0.25 tick is 25 raw
WARMUP_BARS = 5_000
KERNEL_CHECK_PAIR = (20, 60)


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- 1. Lockgate ------------------------------------------------------------------------------
def lockgate_bars(n: int) -> Any:
    """Return the synthetic year as a ``research.bars.BarFrame`` of raw cents."""
    import polars as pl

    from domain.instruments import InstrumentId
    from domain.timeframes import Timeframe
    from research.bars import BarFrame

    ticks = synthetic_bars(n, SEED)
    frame = pl.DataFrame({
        "ts_open": START_NS + np.arange(n, dtype=np.int64) * 60_000_000_000,
        **{name: ticks[name].astype(np.int64) * RAW_PER_TICK
           for name in ("open", "high", "low", "close")},
        "volume": ticks["volume"].astype(np.int64),
    })
    return BarFrame(InstrumentId.parse("BENCH:BTC/USDT"), Timeframe(60), 2, 0, frame)


def run_lockgate(n: int) -> dict[str, Any]:
    """Sweep every pair through ``run_sweep_partition``; time it; check one pair vs the kernel."""
    from research.settings import SweepSettings
    from research.sweeps import run_sweep_partition

    bars = lockgate_bars(n)
    settings = SweepSettings(initial_cash=Decimal(CASH), fee_bps=Decimal(str(FEE * 10_000)))
    warm = bars.slice(range(0, min(WARMUP_BARS, n)))
    run_sweep_partition("ma_crossover", {"fast": 10, "slow": 60}, warm, settings)
    start = time.perf_counter()
    outcomes = [run_sweep_partition("ma_crossover", {"fast": fast, "slow": slow}, bars, settings)
                for fast, slow in PAIRS]
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()  # before the kernel check, which holds the bars as Python objects
    fast, slow = KERNEL_CHECK_PAIR
    kernel = run_sweep_partition("ma_crossover", {"fast": fast, "slow": slow}, bars, settings,
                                 fast_path=False)
    checked = outcomes[PAIRS.index(KERNEL_CHECK_PAIR)]
    return {
        "seconds": seconds,
        "peak_rss_mb": peak,
        "trades": [o.metrics.n_trades for o in outcomes],
        "finals": [o.metrics.final_equity for o in outcomes],
        "paths": sorted({o.path for o in outcomes}),
        # Same round trips (exact Decimals), same final equity to the cent.
        "kernel_agrees": (kernel.path == "kernel" and checked.path == "fast"
                          and list(kernel.round_trips) == list(checked.round_trips)
                          and abs(kernel.metrics.final_equity
                                  - checked.metrics.final_equity) < 0.005),
    }


# -- 2. vectorbt ------------------------------------------------------------------------------
def vectorbt_sweep(close: Any, open_: Any, pairs: list[tuple[int, int]]) -> tuple[Any, Any]:
    """Run the sweep the vectorbt way; return (final equity, trade count) per pair."""
    import pandas as pd
    import vectorbt as vbt

    columns = pd.Index([f"{fast}/{slow}" for fast, slow in pairs], name="pair")
    fast_ma = vbt.MA.run(close, [fast for fast, _ in pairs]).ma
    slow_ma = vbt.MA.run(close, [slow for _, slow in pairs]).ma
    fast_ma.columns = slow_ma.columns = columns
    # Decided at a bar's close, filled at the next bar's open, as the kernel does.
    entries = fast_ma.vbt.crossed_above(slow_ma).vbt.fshift(1, fill_value=False)
    exits = fast_ma.vbt.crossed_below(slow_ma).vbt.fshift(1, fill_value=False)
    portfolio = vbt.Portfolio.from_signals(close, entries, exits, price=open_, size=np.inf,
                                           fees=FEE, init_cash=CASH, freq="1min")
    return portfolio.value().iloc[-1].to_numpy(), portfolio.trades.count().to_numpy()


def run_vectorbt(n: int) -> dict[str, Any]:
    """Time the vectorbt sweep after a small warm-up run that compiles numba's functions."""
    import pandas as pd

    ticks = synthetic_bars(n, SEED)
    index = pd.date_range("2023-01-01", periods=n, freq="min")
    close = pd.Series(ticks["close"] / TICKS_PER_USD, index=index)
    open_ = pd.Series(ticks["open"] / TICKS_PER_USD, index=index)
    warm = min(WARMUP_BARS, n)
    vectorbt_sweep(close.iloc[:warm], open_.iloc[:warm], PAIRS[:2])
    start = time.perf_counter()
    finals, trades = vectorbt_sweep(close, open_, PAIRS)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(),
            "trades": [int(t) for t in trades], "finals": [float(f) for f in finals]}


# -- the run ----------------------------------------------------------------------------------
def run_child(side: str, n: int) -> dict[str, Any]:
    """Run one side in a fresh interpreter; return what it reported."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", side, "--bars", str(n)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{side} failed:\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def check_agree(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Stop the bench unless every pair has the same trades and final equity on both sides."""
    for k, (fast, slow) in enumerate(PAIRS):
        if ours["trades"][k] != theirs["trades"][k]:
            sys.exit(f"{fast}/{slow}: {ours['trades'][k]} trades, vectorbt {theirs['trades'][k]}")
        if not math.isclose(ours["finals"][k], theirs["finals"][k], rel_tol=1e-9):
            sys.exit(f"{fast}/{slow}: final equity {ours['finals'][k]!r}, "
                     f"vectorbt {theirs['finals'][k]!r}")
    if not ours["kernel_agrees"]:
        sys.exit(f"fast path and kernel disagree on {KERNEL_CHECK_PAIR}")
    if ours["paths"] != ["fast"]:
        sys.exit(f"expected the fast path for every pair, got {ours['paths']}")


def main() -> None:
    """Run both sides, check that they agree, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=BARS)
    parser.add_argument("--child", choices=("lockgate", "vectorbt"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = run_lockgate if args.child == "lockgate" else run_vectorbt
        print(json.dumps(run(args.bars)))
        return
    ours = run_child("lockgate", args.bars)
    theirs = run_child("vectorbt", args.bars)
    check_agree(ours, theirs)
    trades = ours["trades"]
    print(f"{len(PAIRS)} pairs, {args.bars} bars, {sum(trades)} trades "
          f"({min(trades)}..{max(trades)} per pair), all agree; kernel check on "
          f"{KERNEL_CHECK_PAIR[0]}/{KERNEL_CHECK_PAIR[1]} agrees", file=sys.stderr)
    print(f"lockgate: {ours['seconds']:.2f} s, peak {ours['peak_rss_mb']:.0f} MiB", file=sys.stderr)
    print(f"vectorbt: {theirs['seconds']:.2f} s, peak {theirs['peak_rss_mb']:.0f} MiB",
          file=sys.stderr)
    print(f"sweep_s={ours['seconds']:.3f} "
          f"ratio_vs_vectorbt={ours['seconds'] / theirs['seconds']:.3f} "
          f"memory_ratio_vs_vectorbt={ours['peak_rss_mb'] / theirs['peak_rss_mb']:.3f}")


if __name__ == "__main__":
    main()

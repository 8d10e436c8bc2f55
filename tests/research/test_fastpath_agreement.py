"""The vectorised ``ma_crossover`` fast path agrees with the kernel trade for trade.

Real candles: the repository's three files and the shared 1-minute files that hold exact
ties of the two averages (NEO-BTC_1m with 5/20 and XLM-BTC_1m with 10/30: equal exactly but
not in floats), the gappy bittrex XRP-BTC_1m file and a slice of the FTX file (large volumes
held as Int128). For each case: the same round trips (entry and exit times, prices,
quantities, fees: exact Decimals), the same trade count, the final equity to the cent (1e-9
relative) and every other figure to 1e-9 relative.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from research.bars import BarFrame
from research.fastpath import _decisions_are_exact, crossings
from research.settings import SweepSettings
from research.sweeps import SweepOutcome, run_sweep_partition
from tests.research.support import LOCAL, SHARED, frame

FILES = [
    *sorted(LOCAL.glob("*.csv")),
    SHARED / "binance_NEO-BTC_1m.csv",
    SHARED / "binance_XLM-BTC_1m.csv",
    SHARED / "binance_ETH-USDT_5m.csv",
    SHARED / "bittrex_XRP-BTC_1m.csv",
]
PAIRS = [(5, 20), (10, 30), (20, 50)]
SETTINGS = {
    "all-in": SweepSettings(),
    "fees+slippage": SweepSettings(fee_bps=Decimal("7.5"), slippage_bps=Decimal(5)),
    "half": SweepSettings(position_pct=Decimal(50), fee_bps=Decimal(0)),
    # So many digits that float accounting cannot be proved exact: the ledger accounts.
    "odd-digits": SweepSettings(slippage_bps=Decimal("3.14159265358979323846")),
}
FIGURES = ("final_equity", "total_return", "max_drawdown", "sharpe", "sortino", "win_rate",
           "profit_factor", "exposure", "fees_paid")


def both(bars: BarFrame, pair: tuple[int, int],
         settings: SweepSettings) -> tuple[SweepOutcome, SweepOutcome]:
    params = {"fast": pair[0], "slow": pair[1]}
    fast = run_sweep_partition("ma_crossover", params, bars, settings)
    kernel = run_sweep_partition("ma_crossover", params, bars, settings, fast_path=False)
    return fast, kernel


def assert_agree(fast: SweepOutcome, kernel: SweepOutcome) -> None:
    assert (fast.path, kernel.path) == ("fast", "kernel")
    assert fast.metrics.n_trades == kernel.metrics.n_trades
    assert list(fast.round_trips) == list(kernel.round_trips)  # exact, field by field
    assert abs(fast.metrics.final_equity - kernel.metrics.final_equity) < 0.005
    for name in FIGURES:
        ours, theirs = getattr(fast.metrics, name), getattr(kernel.metrics, name)
        if theirs is None:
            assert ours is None, name
        else:
            assert math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12), (name, ours, theirs)


@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fast_path_and_kernel_make_the_same_trades(path: Path, settings: SweepSettings) -> None:
    bars = frame(path)
    for pair in PAIRS:
        fast, kernel = both(bars, pair, settings)
        assert_agree(fast, kernel)


def test_the_tie_files_do_hold_exact_ties() -> None:
    # The reason these files are in the list: an average pair equal exactly, not in floats.
    for name, (fast, slow) in (("binance_NEO-BTC_1m.csv", (5, 20)),
                               ("binance_XLM-BTC_1m.csv", (10, 30))):
        bars = frame(SHARED / name)
        sums = bars.cumulative_closes()
        n = len(bars)
        spread = ((sums[slow:] - sums[slow - fast:n + 1 - fast]) * slow
                  - (sums[slow:] - sums[:n + 1 - slow]) * fast)
        assert (spread == 0).any(), name


def test_the_odd_digit_settings_take_the_ledger_route() -> None:
    bars = frame(LOCAL / "binance_BTC-USDT_1h.csv")

    assert _decisions_are_exact(bars, SETTINGS["all-in"])
    assert not _decisions_are_exact(bars, SETTINGS["odd-digits"])


def test_a_large_file_with_int128_volumes_agrees_too() -> None:
    bars = frame(SHARED / "ftx_BTC-PERP_1m.csv")
    assert bars.frame.schema["volume"] == pl.Int128
    part = bars.slice(range(0, 15_000))

    fast, kernel = both(part, (10, 30), SweepSettings(fee_bps=Decimal(2)))

    assert_agree(fast, kernel)
    assert fast.metrics.n_trades > 100


def test_crossings_need_a_previous_spread() -> None:
    bars = frame(LOCAL / "binance_BTC-USDT_1h.csv")
    up, down = crossings(bars, 5, 20)

    assert up.min() >= 20 and down.min() >= 20
    assert crossings(bars.slice(range(0, 20)), 5, 20)[0].size == 0


def test_prices_beyond_int64_fall_back_to_the_kernel() -> None:
    small = frame(LOCAL / "binance_BTC-USDT_1h.csv").slice(range(0, 60))
    huge = small.frame.with_columns(
        [(pl.col(c).cast(pl.Int128) * 10**12) for c in ("open", "high", "low", "close")])
    bars = BarFrame(small.instrument_id, small.timeframe, small.price_precision + 12,
                    small.size_precision, huge)

    outcome = run_sweep_partition("ma_crossover", {"fast": 2, "slow": 5}, bars)

    assert outcome.path == "kernel"

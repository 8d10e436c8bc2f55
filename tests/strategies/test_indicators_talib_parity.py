"""TA-Lib parity: every incremental indicator, fed bar by bar, against TA-Lib on real candles.

Every CSV in shared/data/candles (the ``shared`` folder beside the repository) is used. A
missing or empty folder FAILS these tests: parity that was never checked must not pass.

Tolerance: ``abs(ours - talib) <= REL * max(abs(talib), floor)``, i.e. relative 1e-9 with
an absolute floor for values near zero:

* price-valued outputs (SMA, EMA, ATR, the Bollinger bands) use ``PRICE_FLOOR = 1e-12``.
  The smallest prices in the data are ~7e-5 BTC (XRP/BTC, 1e-8 ticks), so the check stays
  relative (7e-14 absolute there); the floor only keeps it meaningful for a value that is
  exactly or almost 0 (an ATR over a flat stretch).
* RSI lives on a fixed 0..100 scale, where a relative error is meaningless near 0, so
  ``RSI_FLOOR = 1.0``: 1e-9 absolute below an RSI of 1, relative above.

Observed today (TA-Lib C 0.8.1): SMA/RSI agree bit for bit or to ~1e-14, EMA/ATR to
~1e-15 (TA-Lib fuses a multiply-add), Bollinger bands to ~5e-12 (TA-Lib's variance comes
from shifted running sums; ours is exact). 1e-9 leaves room for TA-Lib's own rounding
changes between releases while still catching any real formula or seeding difference.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import talib

from strategies.indicators import ATR, EMA, RSI, SMA, BollingerBands

CANDLES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "candles"
COLUMNS = ["ts", "open", "high", "low", "close", "volume"]

REL = 1e-9
PRICE_FLOOR = 1e-12
RSI_FLOOR = 1.0

FloatArray = npt.NDArray[np.float64]

_FILES = sorted(CANDLES_DIR.glob("*.csv")) if CANDLES_DIR.is_dir() else []
# With no file found, run once against the folder itself so the test fails instead of
# being skipped as an empty parametrisation.
FILES = _FILES or [CANDLES_DIR]


@dataclass(frozen=True)
class Candles:
    """One candle file's columns."""

    high: FloatArray
    low: FloatArray
    close: FloatArray
    close_fixed: list[int]  # closes as exact ints, scaled by 10**decimals
    decimals: int


@functools.cache
def load(path: Path) -> Candles:
    """Parse a candle CSV with the csv module, or fail the test with a clear message."""
    if not path.is_file():
        pytest.fail(
            f"TA-Lib parity needs the candle files in {CANDLES_DIR} (the `shared` folder "
            f"beside the repository), but {path} has no CSV files: the data is missing."
        )
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        assert header == COLUMNS, f"{path.name}: unexpected header {header}"
        rows = list(reader)
    assert rows, f"{path.name}: no candles"
    closes = [Decimal(row[4]) for row in rows]
    decimals = max(max(0, -int(c.as_tuple().exponent)) for c in closes)
    close_fixed = []
    for c in closes:
        scaled = c.scaleb(decimals)
        assert scaled == scaled.to_integral_value()
        close_fixed.append(int(scaled))
    return Candles(
        high=np.array([float(row[2]) for row in rows]),
        low=np.array([float(row[3]) for row in rows]),
        close=np.array([float(row[4]) for row in rows]),
        close_fixed=close_fixed,
        decimals=decimals,
    )


def check_series(
    label: str,
    values: list[float | None],
    ready: list[bool],
    expected: FloatArray,
    floor: float,
) -> None:
    """Assert the warm-up matches TA-Lib's lookback and every later value is within tolerance."""
    defined = ~np.isnan(expected)
    assert defined.any(), f"{label}: TA-Lib produced no value (file too short?)"
    first = int(np.argmax(defined))
    assert defined[first:].all(), f"{label}: TA-Lib has a gap after bar {first}"
    assert not any(ready[:first]), f"{label}: ready before TA-Lib's first value at bar {first}"
    assert all(ready[first:]), f"{label}: not ready from TA-Lib's first value at bar {first}"
    assert all(v is None for v in values[:first]), f"{label}: a value before bar {first}"
    tail = values[first:]
    assert all(v is not None for v in tail), f"{label}: None after bar {first}"
    got = np.array(tail, dtype=np.float64)
    want = expected[first:]
    bad = np.flatnonzero(np.abs(got - want) > REL * np.maximum(np.abs(want), floor))
    if bad.size:
        i = int(bad[0])
        pytest.fail(
            f"{label}: {bad.size} of {want.size} values differ from TA-Lib beyond "
            f"{REL:g} relative; first at bar {first + i}: ours {got[i]!r}, TA-Lib {want[i]!r}"
        )


def feed(
    indicator: SMA | EMA | RSI | BollingerBands, xs: FloatArray
) -> tuple[list[float | None], list[bool]]:
    """Update `indicator` with each input; return its value and ready flag after each."""
    values: list[float | None] = []
    ready: list[bool] = []
    for x in xs.tolist():
        indicator.update(x)
        values.append(indicator.value)
        ready.append(indicator.ready)
    return values, ready


def file_id(path: Path) -> str:
    """Name a parametrised case after its file."""
    return path.stem


pytestmark = pytest.mark.parametrize("path", FILES, ids=file_id)


def test_candle_files_present(path: Path) -> None:
    """The data folder exists and holds candle files (fails, never skips, when missing)."""
    assert load(path).close.size > 0


@pytest.mark.parametrize("period", [5, 20, 50])
def test_sma_matches_talib(path: Path, period: int) -> None:
    """SMA over float closes matches talib.SMA."""
    c = load(path)
    values, ready = feed(SMA(period), c.close)
    check_series(f"SMA({period})", values, ready, talib.SMA(c.close, period), PRICE_FLOOR)


@pytest.mark.parametrize("period", [10, 26])
def test_ema_matches_talib(path: Path, period: int) -> None:
    """EMA, SMA-seeded, matches talib.EMA."""
    c = load(path)
    values, ready = feed(EMA(period), c.close)
    check_series(f"EMA({period})", values, ready, talib.EMA(c.close, period), PRICE_FLOOR)


@pytest.mark.parametrize("period", [14, 7])
def test_rsi_matches_talib(path: Path, period: int) -> None:
    """RSI with Wilder smoothing matches talib.RSI."""
    c = load(path)
    values, ready = feed(RSI(period), c.close)
    check_series(f"RSI({period})", values, ready, talib.RSI(c.close, period), RSI_FLOOR)


def test_atr_matches_talib(path: Path) -> None:
    """ATR(14) matches talib.ATR."""
    c = load(path)
    atr = ATR(14)
    values: list[float | None] = []
    ready: list[bool] = []
    for h, lo, cl in zip(c.high.tolist(), c.low.tolist(), c.close.tolist(), strict=True):
        atr.update(h, lo, cl)
        values.append(atr.value)
        ready.append(atr.ready)
    expected = talib.ATR(c.high, c.low, c.close, timeperiod=14)
    check_series("ATR(14)", values, ready, expected, PRICE_FLOOR)


def test_bollinger_matches_talib(path: Path) -> None:
    """Bollinger(20, 2) matches talib.BBANDS with matype=0 on all three bands."""
    c = load(path)
    bb = BollingerBands(20, 2.0)
    bands: dict[str, list[float | None]] = {"upper": [], "middle": [], "lower": []}
    ready: list[bool] = []
    for x in c.close.tolist():
        bb.update(x)
        assert bb.value == bb.middle
        bands["upper"].append(bb.upper)
        bands["middle"].append(bb.middle)
        bands["lower"].append(bb.lower)
        ready.append(bb.ready)
    sma_type = talib.MA_Type.SMA  # type: ignore[attr-defined]  # == 0; the stub hides it
    upper, middle, lower = talib.BBANDS(
        c.close, timeperiod=20, nbdevup=2, nbdevdn=2, matype=sma_type
    )
    check_series("BBANDS(20).upper", bands["upper"], ready, upper, PRICE_FLOOR)
    check_series("BBANDS(20).middle", bands["middle"], ready, middle, PRICE_FLOOR)
    check_series("BBANDS(20).lower", bands["lower"], ready, lower, PRICE_FLOOR)


def test_sma_of_fixed_point_ints_keeps_an_exact_sum(path: Path) -> None:
    """SMA fed fixed-point int closes keeps the window's exact int sum, and still matches TA-Lib."""
    c = load(path)
    period = 20
    prefix = [0]
    for x in c.close_fixed:
        prefix.append(prefix[-1] + x)
    sma = SMA(period)
    values: list[float | None] = []
    ready: list[bool] = []
    for i, x in enumerate(c.close_fixed):
        sma.update(x)
        window_sum = prefix[i + 1] - prefix[max(0, i + 1 - period)]
        assert type(sma.sum) is int
        assert sma.sum == window_sum, f"bar {i}: sum {sma.sum} != exact {window_sum}"
        if sma.ready:
            assert sma.value == window_sum / period  # one correctly rounded division
            values.append(window_sum / period / 10**c.decimals)
        else:
            values.append(None)
        ready.append(sma.ready)
    check_series("SMA(20) fixed-point", values, ready, talib.SMA(c.close, period), PRICE_FLOOR)

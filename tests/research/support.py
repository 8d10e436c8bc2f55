"""Real candles as research inputs: the repository's data/candles and the shared set."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from adapters.files.candles_csv import instrument_from_filename, read_candles_csv
from domain.series import BarSeries
from research.bars import BarFrame

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "data" / "candles"
SHARED = REPO.parent / "shared" / "data" / "candles"


@cache
def candles(path: Path) -> BarSeries:
    """Read a candle CSV named ``<venue>_<BASE>-<QUOTE>_<tf>.csv``."""
    iid, timeframe = instrument_from_filename(path)
    assert iid is not None, path
    return read_candles_csv(path, iid, timeframe)


@cache
def frame(path: Path) -> BarFrame:
    """Return the candles of ``path`` as a ``BarFrame``."""
    return BarFrame.from_series(candles(path))

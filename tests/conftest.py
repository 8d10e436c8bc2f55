"""Shared test fixtures: where the real market data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def candles_dir() -> Path:
    """Return the shared real-candle folder; fail (never skip) when it is missing."""
    folder = SHARED_DATA / "candles"
    if not folder.is_dir():
        pytest.fail(f"real market data expected at {folder} (the shared data set beside the repo)")
    return folder

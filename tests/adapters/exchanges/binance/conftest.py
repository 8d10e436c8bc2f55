"""Shared fixtures of the Binance adapter tests: instruments, metrics registries, recorded rows."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from adapters.exchanges.binance.metrics import FeedMetrics
from tests.adapters.exchanges.binance.recorded import (
    DATA,
    CandleRow,
    TradeRow,
    read_candles,
    read_trades,
)


@pytest.fixture(scope="session", autouse=True)
def _shared_data_present() -> None:
    if not DATA.is_dir():
        pytest.fail(f"real market data expected at {DATA} (the shared data set beside the repo)")


@pytest.fixture(scope="session")
def recorded_trades() -> list[TradeRow]:
    """All 19,904 recorded BTCUSDT spot trades, in capture order."""
    return read_trades()


@pytest.fixture(scope="session")
def recorded_candles() -> list[CandleRow]:
    """The recorded 2018 BTCUSDT 1m candles (one real missing minute)."""
    return read_candles()


@pytest.fixture
def registry() -> CollectorRegistry:
    """A registry of the test's own, so counters start at zero."""
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> FeedMetrics:
    """Feed metrics on the test's registry."""
    return FeedMetrics.create(registry)

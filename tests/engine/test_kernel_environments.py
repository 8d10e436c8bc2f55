"""One ``Kernel`` class, two environments, the same decisions (ARCHITECTURE.md, decision 1).

(a) ``engine.backtest.run_backtest`` over a stored candle file (a ``SimulatedClock`` set from the
data); (b) a hand-built kernel with a wall-clock-like test clock that the driver advances on its
own (bar close plus a few ms of simulated delivery latency) and bars pushed one at a time by a
feed, as the live runner does. Fills, round trips and equity curves must be identical.

The last test parses ``engine/*.py`` and asserts no asyncio, no ``time`` and no
``datetime.now``: it duplicates the linter on purpose, as an executable statement of decision 1.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.files.candles_csv import read_candles_csv
from domain.instruments import InstrumentId
from domain.market import Bar
from domain.series import BarSeries
from domain.timeframes import Timeframe
from engine.backtest import BacktestConfig, BacktestResult, run_backtest
from engine.kernel import Kernel
from engine.metrics import compute_metrics
from engine.models import FeeModel, SlippageModel
from engine.portfolio import Portfolio
from engine.venue import SimulatedVenue
from risk.gate import RiskEngine
from strategies.ma_crossover import MACrossConfig, MACrossover

REPO = Path(__file__).resolve().parents[2]
CANDLES = REPO.parent / "shared" / "data" / "candles" / "binance_BTC-USDT_1h.csv"
IID = InstrumentId("BINANCE", "BTC", "USDT")
CONFIG = BacktestConfig(initial_cash=Decimal(10_000), fee_bps=Decimal("7.5"),
                        slippage_bps=Decimal(5))
MA = MACrossConfig(fast=5, slow=20)
MS = 1_000_000


class LatencyClock:
    """Stands in for the wall clock of a live runner: it has its own notion of now.

    Time only moves forward, by whatever the driver says elapsed; the kernel can only read it.
    """

    def __init__(self, start_ns: int) -> None:
        self._now = start_ns

    def timestamp_ns(self) -> int:
        return self._now

    def elapse(self, nanos: int) -> None:
        if nanos < 0:
            raise ValueError("a wall clock does not run backwards")
        self._now += nanos


class PushFeed:
    """A push feed: whoever subscribed gets each bar when it is delivered."""

    def __init__(self) -> None:
        self._handlers: list[Callable[[Bar], None]] = []

    def subscribe(self, handler: Callable[[Bar], None]) -> None:
        self._handlers.append(handler)

    def deliver(self, bar: Bar) -> None:
        for handler in self._handlers:
            handler(bar)


def wire_messages(series: BarSeries) -> Iterator[Bar]:
    """Rebuild each bar from its columns, as a websocket decoder would, one at a time."""
    step = series.timeframe.nanos
    for i, ts in enumerate(series.ts_open):
        yield Bar.checked(series.instrument_id, ts, ts + step, series.open[i], series.high[i],
                          series.low[i], series.close[i], series.volume[i],
                          series.price_precision, series.size_precision)


@pytest.fixture(scope="module")
def series() -> BarSeries:
    if not CANDLES.is_file():
        pytest.fail(f"the shared candle file is missing: {CANDLES}")
    return read_candles_csv(CANDLES, IID, Timeframe.parse("1h"))


@pytest.fixture(scope="module")
def backtest(series: BarSeries) -> BacktestResult:
    return run_backtest(series, MACrossover(MA, [IID]), RiskEngine(), CONFIG)


def run_pushed(series: BarSeries) -> tuple[Kernel, Portfolio, LatencyClock, list[int]]:
    """Drive a hand-built kernel the live way; return it and the delivery times."""
    clock = LatencyClock(start_ns=series.ts_open[0] - 3_600_000 * MS)  # started an hour early
    portfolio = Portfolio(IID.quote, CONFIG.initial_cash)
    venue = SimulatedVenue(portfolio, FeeModel.flat(CONFIG.fee_bps),
                           SlippageModel(CONFIG.slippage_bps))
    kernel = Kernel(clock, portfolio, venue, RiskEngine(), [MACrossover(MA, [IID])])
    feed = PushFeed()
    feed.subscribe(kernel.on_bar)
    delivered_at: list[int] = []
    for i, bar in enumerate(wire_messages(series)):
        latency = (3 + (i * 7) % 11) * MS  # the message arrives 3..13 ms after the close
        clock.elapse(bar.ts_close + latency - clock.timestamp_ns())
        delivered_at.append(clock.timestamp_ns())
        feed.deliver(bar)
    return kernel, portfolio, clock, delivered_at


def fill_rows(fills: list) -> list[tuple]:
    return [(f.client_order_id, f.side, f.last_qty, f.last_px, f.fee, f.ts_event) for f in fills]


def test_backtest_and_pushed_bars_with_another_clock_make_the_same_decisions(
    series: BarSeries, backtest: BacktestResult,
) -> None:
    kernel, portfolio, _, delivered_at = run_pushed(series)

    assert len(backtest.fills) >= 10, "the run should trade enough to compare something"
    assert fill_rows(kernel.fills) == fill_rows(backtest.fills)
    assert portfolio.round_trips == backtest.round_trips
    assert kernel.curve.ts == backtest.curve.ts
    assert kernel.curve.equity == backtest.curve.equity
    assert kernel.curve.exposed_bars == backtest.curve.exposed_bars
    assert kernel.denials == backtest.denials == []
    # The decisions really were taken under the other clock: orders carry its time.
    order_times = {order.ts_init for order in kernel.orders.values()}
    assert order_times <= set(delivered_at)
    assert not order_times & {ts + series.timeframe.nanos for ts in series.ts_open}


def test_both_environments_report_the_same_figures(
    series: BarSeries, backtest: BacktestResult,
) -> None:
    kernel, portfolio, _, _ = run_pushed(series)

    metrics = compute_metrics(
        kernel.curve.equity, series.min_spacing_seconds(), CONFIG.initial_cash,
        portfolio.equity(), portfolio.round_trips, kernel.curve.exposed_bars,
        portfolio.fees_paid,
    )

    assert metrics == backtest.metrics
    assert portfolio.last_price(IID) == backtest.final_mark


# -- decision 1, as an executable statement ----------------------------------------------------
BANNED_MODULES = {"asyncio", "time"}
BANNED_CALLS = {"now", "utcnow", "today"}  # on datetime / date


def wall_clock_uses(source: str, filename: str) -> list[str]:
    """Return where ``source`` imports asyncio/time or reads datetime's wall clock."""
    found: list[str] = []
    tree = ast.parse(source, filename=filename)
    datetime_names = {"datetime", "date"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "datetime":
            datetime_names |= {alias.asname or alias.name for alias in node.names}
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where} import {alias.name}" for alias in node.names
                      if alias.name.split(".")[0] in BANNED_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in BANNED_MODULES:
                found.append(f"{where} from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and node.attr in BANNED_CALLS:
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else (
                owner.attr if isinstance(owner, ast.Attribute) else None)
            if name in datetime_names:
                found.append(f"{where} {name}.{node.attr}")
    return found


def test_the_checker_sees_what_it_is_meant_to_ban() -> None:
    source = (
        "import asyncio\nimport time as t\nfrom time import monotonic\n"
        "import datetime\nfrom datetime import datetime as dt\n"
        "a = datetime.datetime.now()\nb = dt.now()\nc = datetime.date.today()\n"
        "d = dt.utcnow()\n"
    )

    found = wall_clock_uses(source, "sample.py")

    assert len(found) == 7, found
    assert wall_clock_uses("from datetime import UTC\nx = self.now\n", "ok.py") == []


def test_engine_never_imports_asyncio_or_time_nor_reads_datetime_now() -> None:
    files = sorted((REPO / "engine").rglob("*.py"))
    assert any(path.name == "kernel.py" for path in files)

    found = [use for path in files
             for use in wall_clock_uses(path.read_text(encoding="utf-8"),
                                        str(path.relative_to(REPO)))]

    assert found == []

"""Run the kernel over stored bars: the function behind ``lockgate backtest``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from domain.errors import InvalidValue
from domain.events import OrderDenied, OrderFilled, SignalRaised
from domain.market import Bar
from domain.orders import Order
from domain.ports import RiskGate, StrategyPort
from domain.series import BarSeries
from engine.clock import SimulatedClock
from engine.kernel import EquityCurve, Kernel
from engine.metrics import Metrics, compute_metrics
from engine.models import FeeModel, SlippageModel
from engine.portfolio import Portfolio, RoundTrip
from engine.venue import SimulatedVenue

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 1 << 16


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """Account and cost settings of one backtest."""

    initial_cash: Decimal = Decimal(10_000)
    fee_bps: Decimal = Decimal(10)
    slippage_bps: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if not self.initial_cash.is_finite() or self.initial_cash <= 0:
            raise InvalidValue(f"initial cash must be positive, got {self.initial_cash}")


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Everything a run produced."""

    metrics: Metrics
    round_trips: list[RoundTrip]
    orders: dict[str, Order]
    fills: list[OrderFilled]
    denials: list[OrderDenied]
    signals: list[SignalRaised]
    curve: EquityCurve
    final_mark: Decimal | None


def _drive(series: BarSeries, clock: SimulatedClock, kernel: Kernel,
           progress: Progress | None) -> None:
    """Push every bar through the kernel, the clock at each bar's close (the hot loop)."""
    set_time, on_bar, total = clock.set_time, kernel.on_bar, len(series)
    iid, step = series.instrument_id, series.timeframe.nanos
    pp, sp = series.price_precision, series.size_precision
    rows = zip(series.ts_open, series.open, series.high, series.low, series.close,
               series.volume, strict=True)
    if progress is None:
        for ts, o, h, lo, c, v in rows:
            set_time(ts + step)
            on_bar(Bar(iid, ts, ts + step, o, h, lo, c, v, pp, sp))
        return
    for i, (ts, o, h, lo, c, v) in enumerate(rows):
        set_time(ts + step)
        on_bar(Bar(iid, ts, ts + step, o, h, lo, c, v, pp, sp))
        if not i % PROGRESS_EVERY:
            progress(i, total)
    progress(total, total)


def run_backtest(
    series: BarSeries,
    strategy: StrategyPort,
    risk: RiskGate,
    config: BacktestConfig,
    progress: Progress | None = None,
) -> BacktestResult:
    """Feed every bar of ``series`` to a fresh kernel and compute the run's figures."""
    if not len(series):
        raise InvalidValue("no bars to backtest")
    clock = SimulatedClock(series.ts_open[0])
    portfolio = Portfolio(series.instrument_id.quote, config.initial_cash)
    venue = SimulatedVenue(portfolio, FeeModel.flat(config.fee_bps),
                           SlippageModel(config.slippage_bps))
    kernel = Kernel(clock, portfolio, venue, risk, [strategy])
    _drive(series, clock, kernel, progress)
    final_equity = portfolio.equity()
    metrics = compute_metrics(
        kernel.curve.equity, series.min_spacing_seconds(), config.initial_cash, final_equity,
        portfolio.round_trips, kernel.curve.exposed_bars, portfolio.fees_paid,
    )
    return BacktestResult(metrics, portfolio.round_trips, kernel.orders, kernel.fills,
                          kernel.denials, kernel.signals, kernel.curve,
                          portfolio.last_price(series.instrument_id))

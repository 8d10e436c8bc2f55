"""``engine.metrics.compute_metrics`` on small curves whose figures are worked out by hand."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from domain.instruments import InstrumentId
from engine.metrics import Metrics, compute_metrics
from engine.portfolio import RoundTrip

IID = InstrumentId("SIM", "BTC", "USDT")
HOURLY = 3_600.0
D = Decimal


def trip(pnl_before_fees: str | None, fees: str = "1") -> RoundTrip:
    """A 1-unit trip bought at 100; ``None`` leaves it open."""
    closed = pnl_before_fees is not None
    return RoundTrip(
        IID, "S", entry_ts=0, entry_qty=D(1), entry_cost=D(100),
        exit_ts=1 if closed else None, exit_qty=D(1) if closed else D(0),
        exit_proceeds=D(100) + D(pnl_before_fees) if closed else D(0),
        fees=D(fees), entry_fills=1, first_entry_px=D(100),
    )


def metrics(equity: list[float], spacing: float | None = HOURLY, trips: tuple = (),
            exposed: int = 0, final: str | None = None) -> Metrics:
    final_equity = D(final) if final is not None else D(repr(equity[-1]))
    return compute_metrics(equity, spacing, D(equity[0]), final_equity, list(trips), exposed,
                           D("1.5"))


def test_max_drawdown_is_the_largest_fall_from_a_running_peak_as_a_positive_fraction() -> None:
    result = metrics([100.0, 120.0, 90.0, 130.0, 117.0])

    assert result.max_drawdown == pytest.approx(0.25)  # 120 -> 90; 130 -> 117 is only 10%
    assert metrics([100.0, 101.0, 105.0]).max_drawdown == 0.0


def test_sharpe_and_sortino_from_simple_returns_annualised_by_bar_spacing() -> None:
    # Returns +1, -0.5, +1: mean 0.5; sample variance (ddof=1) 1.5 / 2 = 0.75;
    # downside sqrt(mean(min(r, 0)^2)) over all three returns = sqrt(0.25 / 3).
    result = metrics([100.0, 200.0, 100.0, 200.0], spacing=HOURLY)

    annualise = math.sqrt(365 * 86400 / 3600)
    assert result.sharpe == pytest.approx(0.5 / math.sqrt(0.75) * annualise, rel=1e-12)
    assert result.sortino == pytest.approx(0.5 / math.sqrt(0.25 / 3) * annualise, rel=1e-12)
    assert result.total_return == pytest.approx(1.0)
    assert result.max_drawdown == pytest.approx(0.5)


def test_annualisation_uses_the_spacing_given() -> None:
    hourly = metrics([100.0, 200.0, 100.0, 200.0], spacing=HOURLY)
    daily = metrics([100.0, 200.0, 100.0, 200.0], spacing=86_400.0)

    assert daily.sharpe == pytest.approx(0.5 / math.sqrt(0.75) * math.sqrt(365), rel=1e-12)
    assert hourly.sharpe / daily.sharpe == pytest.approx(math.sqrt(24), rel=1e-12)


@pytest.mark.parametrize(
    ("equity", "spacing", "sharpe_none", "sortino_none"),
    [
        pytest.param([100.0, 100.0, 100.0], HOURLY, True, True, id="flat-curve-no-deviation"),
        pytest.param([100.0, 200.0, 400.0], HOURLY, True, True,
                     id="equal-returns-no-deviation-no-downside"),
        pytest.param([100.0, 110.0, 132.0], HOURLY, False, True, id="no-losing-bar-no-sortino"),
        pytest.param([100.0, 110.0], HOURLY, True, True, id="one-return-is-not-enough"),
        pytest.param([100.0, 110.0, 99.0], None, True, True, id="no-spacing-known"),
    ],
)
def test_risk_adjusted_figures_are_none_when_undefined(
    equity: list[float], spacing: float | None, sharpe_none: bool, sortino_none: bool,
) -> None:
    result = metrics(equity, spacing=spacing)

    assert (result.sharpe is None) is sharpe_none
    assert (result.sortino is None) is sortino_none


def test_win_rate_and_profit_factor_count_closed_trips_only() -> None:
    # Net of fees: +30, -10, 0 (a scratch counts as closed but neither win nor loss), and an
    # open trip that would look like a -101 loss if it were counted.
    trips = (trip("31"), trip("-9"), trip("1"), trip(None))

    result = metrics([100.0, 101.0, 102.0], trips=trips)

    assert result.win_rate == pytest.approx(1 / 3)
    assert result.profit_factor == pytest.approx(3.0)
    assert result.n_trades == 4


@pytest.mark.parametrize(
    ("trips", "win_rate", "profit_factor"),
    [
        pytest.param((), None, None, id="no-trips"),
        pytest.param((trip(None),), None, None, id="only-an-open-trip"),
        pytest.param((trip("31"), trip("11")), 1.0, None, id="no-losing-trip"),
        pytest.param((trip("-9"),), 0.0, 0.0, id="only-a-losing-trip"),
    ],
)
def test_win_rate_and_profit_factor_when_undefined(
    trips: tuple, win_rate: float | None, profit_factor: float | None,
) -> None:
    result = metrics([100.0, 101.0, 102.0], trips=trips)

    assert result.win_rate == win_rate
    assert result.profit_factor == profit_factor


def test_exposure_fees_and_returns() -> None:
    result = metrics([100.0, 101.0, 99.0, 102.0], exposed=3, final="102.5")

    assert result.exposure == 0.75
    assert result.fees_paid == 1.5
    assert result.final_equity == 102.5
    assert result.total_return == pytest.approx(0.025)
    assert metrics([100.0], exposed=0).exposure == 0.0

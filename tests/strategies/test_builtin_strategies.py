"""The built-in strategies through the real kernel: entries, protective exits, clean exits."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import talib

from adapters.files.candles_csv import instrument_from_filename, read_candles_csv
from domain.errors import InvalidValue
from domain.orders import OrderSide, OrderType
from engine.backtest import BacktestResult
from strategies.bollinger_rsi import BollingerRSI, BollingerRSIConfig
from strategies.donchian_breakout import DonchianBreakout, DonchianConfig
from strategies.indicators import DonchianChannel
from strategies.ma_crossover import MACrossConfig, MACrossover
from strategies.ml import FeatureSpec, LinearModel, LogisticSignal, MLConfig, encode_model
from strategies.ml.model import sha256_hex
from strategies.template import TemplateConfig, TemplateStrategy
from tests.strategies.support import IID, backtest, series

REPO = Path(__file__).resolve().parents[2]
REAL_PATH = REPO / "data" / "candles" / "binance_BTC-USDT_1h.csv"
_iid, _tf = instrument_from_filename(REAL_PATH)
assert _iid is not None
IID_REAL = _iid
REAL = read_candles_csv(REAL_PATH, IID_REAL, _tf)


def working(result: BacktestResult) -> list[str]:
    return [o.client_order_id for o in result.orders.values() if o.is_working]


def children(result: BacktestResult, suffix: str) -> list[object]:
    return [o for o in result.orders.values() if o.client_order_id.endswith(suffix)]


# -- Donchian breakout ---------------------------------------------------------------------------

RANGE = [100.0, 101.0] * 10  # a 2-point range: channel high 101.5, ATR about 2


def test_donchian_buys_a_breakout_with_an_atr_stop_that_the_venue_holds() -> None:
    crash = 20 + 4  # two bars after the entry fill, a bar that dives through the stop
    bars = series([*RANGE, 106.0, 107.0, 107.5, 107.0, 107.5], lows={crash: 90.0})
    config = DonchianConfig(entry_period=10, exit_period=5, atr_period=5, stop_atr=2.0)

    result = backtest(DonchianBreakout(config, [IID]), bars)

    breakout = next(s for s in result.signals if s.name == "breakout")
    assert breakout.ts_event == bars.ts_open[20] + bars.timeframe.nanos  # bar 20's close
    assert breakout.values["channel"] == 101.5
    entry = result.round_trips[0]
    assert entry.entry_price == Decimal("106.00")  # bar 21's open
    (stop,) = children(result, "-SL")
    offset = Decimal(repr(2.0 * breakout.values["atr"] / breakout.values["close"])).quantize(
        Decimal("0.000001"))
    assert stop.type is OrderType.STOP_MARKET  # type: ignore[attr-defined]
    assert stop.trigger_price == Decimal("106.00") * (1 - offset)  # type: ignore[attr-defined]
    assert entry.exit_price == stop.trigger_price  # type: ignore[attr-defined]
    assert entry.exit_ts == bars.ts_open[crash]
    assert working(result) == []


def test_donchian_exits_below_the_exit_channel_and_cancels_its_stop() -> None:
    drift = [106.0, 105.0, 104.0, 103.0, 102.5, 102.0, 101.0, 100.5, 100.0, 99.0]
    bars = series([*RANGE, *drift])
    config = DonchianConfig(entry_period=10, exit_period=3, atr_period=5, stop_atr=4.0)

    result = backtest(DonchianBreakout(config, [IID]), bars)

    names = [s.name for s in result.signals]
    assert names[:2] == ["breakout", "channel_exit"]
    trip = result.round_trips[0]
    assert trip.is_closed and trip.exit_fills == 1
    (stop,) = children(result, "-SL")
    assert not stop.is_working  # type: ignore[attr-defined]
    assert working(result) == []


def test_donchian_take_profit_is_placed_when_asked() -> None:
    bars = series([*RANGE, 106.0, 107.0, 108.0])
    config = DonchianConfig(entry_period=10, exit_period=5, atr_period=5, take_profit_atr=3.0)

    result = backtest(DonchianBreakout(config, [IID]), bars)

    (take,) = children(result, "-TP")
    assert take.type is OrderType.LIMIT  # type: ignore[attr-defined]
    assert take.price > Decimal("106.00")  # type: ignore[attr-defined]


def test_donchian_channel_matches_talib_max_and_min_on_real_candles() -> None:
    bars = REAL
    high = np.asarray(bars.high, dtype=np.float64)
    low = np.asarray(bars.low, dtype=np.float64)
    for period in (2, 5, 20, 55):  # TA-Lib's MAX/MIN need period >= 2
        channel = DonchianChannel(period)
        expected_hi, expected_lo = talib.MAX(high, period), talib.MIN(low, period)
        for i, (h, lo) in enumerate(zip(bars.high, bars.low, strict=True)):
            channel.update(h, lo)
            if math.isnan(expected_hi[i]):
                assert channel.upper is None
            else:
                assert (channel.upper, channel.lower) == (expected_hi[i], expected_lo[i])


def test_donchian_channel_refuses_bad_input() -> None:
    channel = DonchianChannel(3)
    with pytest.raises(ValueError, match="above high"):
        channel.update(1, 2)
    with pytest.raises(ValueError, match="finite"):
        channel.update(float("inf"), 1)


# -- Bollinger + RSI -----------------------------------------------------------------------------

CALM = [100.0, 100.5, 100.0, 99.5] * 8


DIP = [*CALM, 98.0, 96.0, 94.0, 95.0, 97.0, 99.0, 100.5, 101.0, 100.0]


def test_bollinger_rsi_buys_an_oversold_dip_and_sells_at_the_mean() -> None:
    config = BollingerRSIConfig(period=10, rsi_period=5, stop_loss=Decimal("0.1"))

    result = backtest(BollingerRSI(config, [IID]), series(DIP))

    dip = next(s for s in result.signals if s.name == "oversold_dip")
    assert dip.values["close"] < dip.values["lower"] and dip.values["rsi"] < 30
    exit_ = next(s for s in result.signals if s.name == "mean_reached")
    assert exit_.values["close"] >= exit_.values["middle"] or exit_.values["rsi"] > 70
    trip = result.round_trips[0]
    assert trip.is_closed and trip.exit_price > trip.entry_price
    (stop,) = children(result, "-SL")
    assert not stop.is_working  # type: ignore[attr-defined]
    assert working(result) == []


def test_bollinger_rsi_stop_loss_cuts_a_dip_that_keeps_falling() -> None:
    config = BollingerRSIConfig(period=10, rsi_period=5)  # stop 3 % below the entry

    result = backtest(BollingerRSI(config, [IID]), series(DIP))

    trip = result.round_trips[0]
    stop = children(result, "-SL")[0]  # the first trip's (a later dip may enter again)
    assert stop.trigger_price == trip.entry_price * (1 - Decimal("0.03"))  # type: ignore[attr-defined]
    assert trip.exit_price == stop.trigger_price  # type: ignore[attr-defined]
    assert stop.filled_qty == trip.entry_qty  # type: ignore[attr-defined]


def test_bollinger_rsi_stays_out_when_rsi_is_not_oversold() -> None:
    bars = series([*CALM, 98.0, 96.0, 94.0, 95.0, 97.0])
    config = BollingerRSIConfig(period=10, rsi_period=5, oversold=5.0)

    result = backtest(BollingerRSI(config, [IID]), bars)

    assert result.fills == []


# -- ML logistic ---------------------------------------------------------------------------------

SMALL_SPEC = FeatureSpec(lags=2, rsi_period=3, sma_period=3)


def momentum_model(spec: FeatureSpec = SMALL_SPEC) -> tuple[LinearModel, str]:
    """A hand-set model: P(up) rises steeply with the last one-bar return."""
    coef = (400.0, 0.0, 0.0, 0.0)
    model = LinearModel(spec=spec, coef=coef, intercept=0.0, horizon=1, threshold=0.0,
                        trained_rows=1, trained_from_ts=0, trained_until_ts=0)
    return model, sha256_hex(encode_model(model))


def test_ml_strategy_scores_each_bar_and_trades_on_the_thresholds() -> None:
    model, digest = momentum_model()
    closes = [100.0, 100.5, 101.0, 101.5, 102.0, 103.0, 104.0, 103.0, 102.0, 101.0, 100.0]
    config = MLConfig(model=model, model_sha256=digest, stop_loss=Decimal("0.1"))

    result = backtest(LogisticSignal(config, [IID]), series(closes))

    first = next(s for s in result.signals if s.name == "model_up")
    state, bars = model.spec.state(), series(closes)
    for bar in bars:
        features = state.update(bar.close)
        if bar.ts_close == first.ts_event:
            break
    assert features is not None
    assert first.values["p_up"] == model.probability(features)
    assert first.values["p_up"] > 0.55
    assert any(s.name == "model_doubts" for s in result.signals)
    assert result.round_trips[0].is_closed
    assert working(result) == []


def test_ml_config_refuses_a_model_that_is_not_the_named_artifact() -> None:
    model, digest = momentum_model()
    payload = encode_model(model)

    assert MLConfig.from_artifact(payload, digest).model == model
    with pytest.raises(InvalidValue, match="does not match"):
        MLConfig.from_artifact(payload.replace(b"400.0", b"401.0"), digest)
    with pytest.raises(InvalidValue, match="model_sha256"):
        MLConfig(model=model, model_sha256="0" * 64)


def test_a_model_needs_one_coefficient_per_feature() -> None:
    with pytest.raises(InvalidValue, match="coefficients"):
        LinearModel(spec=FeatureSpec(lags=2), coef=(1.0,), intercept=0.0, horizon=1,
                    threshold=0.0, trained_rows=1, trained_from_ts=0, trained_until_ts=0)


# -- every built-in on real candles ----------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: MACrossover(MACrossConfig(fast=5, slow=20), [IID_REAL]),
    lambda: DonchianBreakout(DonchianConfig(), [IID_REAL]),
    lambda: BollingerRSI(BollingerRSIConfig(), [IID_REAL]),
    lambda: LogisticSignal(MLConfig(model=momentum_model()[0],
                                    model_sha256=momentum_model()[1]), [IID_REAL]),
    lambda: TemplateStrategy(TemplateConfig(ema_period=20), [IID_REAL]),
], ids=["ma_crossover", "donchian_breakout", "bollinger_rsi", "ml_logistic", "template"])
def test_each_strategy_trades_real_candles_and_explains_every_entry(make: object) -> None:
    strategy = make()  # type: ignore[operator]

    result = backtest(strategy, REAL)

    buys = [f for f in result.fills if f.side is OrderSide.BUY]
    assert buys, "expected at least one entry on 500 hours of BTC"
    entry_signals = [s for s in result.signals if s.side is OrderSide.BUY]
    assert len(entry_signals) >= len(buys)
    assert sum(1 for t in result.round_trips if not t.is_closed) <= 1


"""Slow features are read point-in-time, and only the declared ones."""

from __future__ import annotations

import pytest

from domain.errors import InvalidValue
from domain.instruments import InstrumentId
from strategies.features import AsOfFeatures, FeatureView, NoFeatures, UnknownFeature
from strategies.template import SENTIMENT, TemplateConfig, TemplateStrategy
from tests.strategies.support import HOUR, IID, START_NS, backtest, series

OTHER = InstrumentId("TEST", "ETH", "USDT")


def sentiment(times: list[int], values: list[float | None]) -> AsOfFeatures:
    source = AsOfFeatures()
    source.add(SENTIMENT, IID, times, values)
    return source


def test_a_value_is_seen_from_the_time_it_became_available_on() -> None:
    source = sentiment([100, 200], [0.5, -0.2])

    assert source.value_at(SENTIMENT, IID, 99) is None
    assert source.value_at(SENTIMENT, IID, 100) == 0.5
    assert source.value_at(SENTIMENT, IID, 199) == 0.5
    assert source.value_at(SENTIMENT, IID, 10**18) == -0.2


def test_a_null_stays_null_rather_than_falling_back_to_an_older_value() -> None:
    source = sentiment([100, 200], [0.5, None])

    assert source.value_at(SENTIMENT, IID, 250) is None


def test_an_instrument_without_history_reads_none_an_unknown_feature_raises() -> None:
    source = sentiment([100], [0.5])

    assert source.value_at(SENTIMENT, OTHER, 150) is None
    with pytest.raises(UnknownFeature):
        source.value_at("market_cap_rank", IID, 150)


@pytest.mark.parametrize(("times", "values", "problem"), [
    ([200, 100], [1.0, 2.0], "strictly increasing"),
    ([100, 100], [1.0, 2.0], "strictly increasing"),
    ([100], [float("nan")], "finite"),
    ([100, 200], [1.0], "2 times but 1 values"),
])
def test_malformed_histories_are_refused(times: list[int], values: list[float],
                                         problem: str) -> None:
    with pytest.raises(InvalidValue, match=problem):
        sentiment(times, values)  # type: ignore[arg-type]


def test_the_view_reads_as_of_the_clock_and_only_declared_names() -> None:
    now = [150]
    view = FeatureView(sentiment([100, 200], [0.5, 0.7]), lambda: now[0], [SENTIMENT])

    assert view.get(SENTIMENT, IID) == 0.5
    now[0] = 200
    assert view.get(SENTIMENT, IID) == 0.7
    with pytest.raises(UnknownFeature, match="not among the strategy's declared"):
        view.get("market_cap_rank", IID)


def test_a_declared_feature_the_source_lacks_fails_at_start() -> None:
    with pytest.raises(UnknownFeature, match="lacks"):
        FeatureView(NoFeatures(), lambda: 0, [SENTIMENT])


def test_through_the_kernel_a_strategy_cannot_see_a_value_before_it_was_available() -> None:
    # Rising closes: the EMA(2) filter says "buy" from bar 2 on; the sentiment gate opens only
    # when a positive value is available. It becomes available at 5.5 bars after the start,
    # i.e. after bar 4's close (5 h) and before bar 5's close (6 h): bar 5 decides, bar 6 fills.
    bars = series([100 + i for i in range(12)])
    available = START_NS + 5 * HOUR.nanos + HOUR.nanos // 2
    source = sentiment([START_NS, available], [-0.5, 0.4])
    config = TemplateConfig(ema_period=2, use_sentiment=True, min_sentiment=0.0)
    strategy = TemplateStrategy(config, [IID], features=source)

    result = backtest(strategy, bars)

    entries = [s.ts_event for s in result.signals if s.name == "above_ema"]
    assert entries[0] == START_NS + 6 * HOUR.nanos  # bar 5's close, the first one after 5.5 h
    assert result.fills[0].ts_event == START_NS + 6 * HOUR.nanos  # bar 6's open
    assert TemplateStrategy.required_features(config) == (SENTIMENT,)
    assert TemplateStrategy.required_features(TemplateConfig()) == ()


def test_a_strategy_that_declares_a_feature_refuses_to_start_without_it() -> None:
    strategy = TemplateStrategy(TemplateConfig(use_sentiment=True), [IID])

    with pytest.raises(UnknownFeature):
        backtest(strategy, series([100.0, 101.0, 102.0]))

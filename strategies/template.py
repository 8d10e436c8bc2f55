"""A strategy template: copy this file, rename the classes, change the rule. (docs/strategies.md)

What it shows, in the order a reader needs it:

1. a frozen config whose fields carry their type, their valid bounds (``Meta``) and their
   search range (``Param``), plus ``validate`` for rules across fields;
2. per-bar indicators as incremental objects owned by the strategy and updated in ``on_bar``;
3. a slow dbt feature read point-in-time through ``self.features`` (declared by
   ``required_features``, so the platform knows the strategy needs it);
4. commands returned from the handler: an entry with a stop-loss and a take-profit, and an
   exit that cancels the working bracket first.

The rule itself is deliberately plain: long while the close is above its EMA, optionally only
when news sentiment is not negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated

from msgspec import Meta

from domain.commands import Command, Level
from domain.errors import InvalidValue
from domain.market import Bar
from domain.orders import OrderSide
from domain.ports import StrategyContext
from strategies.base import Strategy, StrategyConfig
from strategies.indicators import EMA
from strategies.params import Choice, Param

SENTIMENT = "news_sentiment"  # a column of dbt's fct_candle_slow_features (meta kind: slow)


class TemplateConfig(StrategyConfig, frozen=True, kw_only=True):
    """Parameters: types and valid bounds for validation, ``Param``/``Choice`` for sweeps."""

    ema_period: Annotated[int, Meta(ge=2), Param(10, 100, step=10)] = 50
    stop_loss: Decimal = Decimal("0.02")
    take_profit: Decimal = Decimal("0.04")
    use_sentiment: Annotated[bool, Choice(False, True)] = False
    min_sentiment: Annotated[float, Meta(ge=-1, le=1)] = 0.0

    def validate(self) -> None:
        """Check rules across fields (types and Meta bounds are already checked)."""
        for name, value in (("stop_loss", self.stop_loss), ("take_profit", self.take_profit)):
            if not 0 < value < 1:
                raise InvalidValue(f"{name} is a fraction in (0, 1), got {value}")


class TemplateStrategy(Strategy[TemplateConfig]):
    """Long above the EMA (with an optional sentiment filter), flat below it."""

    name = "template"
    config_type = TemplateConfig

    @classmethod
    def required_features(cls, config: StrategyConfig) -> tuple[str, ...]:
        """Name the slow features this config reads (none unless the filter is on)."""
        uses = isinstance(config, TemplateConfig) and config.use_sentiment
        return (SENTIMENT,) if uses else ()

    def on_start(self, context: StrategyContext) -> None:
        """Create fresh indicators: a strategy object may be started by several kernels."""
        super().on_start(context)
        self._ema = EMA(self.config.ema_period)
        self._stop = Level(offset=self.config.stop_loss)
        self._take = Level(offset=self.config.take_profit)

    def on_bar(self, bar: Bar) -> Sequence[Command] | None:
        """Update the indicator with the closed bar, then decide."""
        self._ema.update(bar.close)
        ema = self._ema.value
        if ema is None:
            return None
        iid = bar.instrument_id
        held = self.context.portfolio.position_qty(iid)
        scale = 10**bar.price_precision  # prices are fixed-point ints: record them in units
        if held <= 0 and bar.close > ema and self._sentiment_allows(bar):
            self.signal(bar, "above_ema", OrderSide.BUY, ema=ema / scale, close=bar.close / scale)
            # Unsized: the account's sizing policy (risk gate) decides how much.
            return [self.buy(iid, stop_loss=self._stop, take_profit=self._take)]
        if held > 0 and bar.close < ema:
            self.signal(bar, "below_ema", OrderSide.SELL, ema=ema / scale, close=bar.close / scale)
            return self.exit_all(iid)  # cancel the bracket, then sell what is held
        return None

    def _sentiment_allows(self, bar: Bar) -> bool:
        if not self.config.use_sentiment:
            return True
        # As of the kernel's time (this bar's close): a later value is invisible here.
        sentiment = self.features.get(SENTIMENT, bar.instrument_id)
        return sentiment is not None and sentiment >= self.config.min_sentiment

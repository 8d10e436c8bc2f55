"""``bollinger_rsi``: buy an oversold dip below the lower Bollinger band, sell at the mean.

Mean reversion, long-only. At a bar's close:

- flat, the close is below the lower band and RSI is below ``oversold``: buy (sized by the
  account's policy) with a stop-loss ``stop_loss`` below the entry fill and, if
  ``take_profit`` > 0, a take-profit that far above it (fractions of the entry price);
- long, and the close is back at or above the middle band, or RSI is above ``overbought``:
  cancel the working exits and sell everything.

The bands are fed the fixed-point closes, whose window sums are exact, so a flat window has a
width of exactly zero rather than float noise.
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
from strategies.indicators import RSI, BollingerBands
from strategies.params import Param


class BollingerRSIConfig(StrategyConfig, frozen=True, kw_only=True):
    """Band period (bars) and width (standard deviations), RSI period and levels, exits."""

    period: Annotated[int, Meta(ge=2), Param(10, 40, step=10)] = 20
    nbdev: Annotated[float, Meta(gt=0), Param(1.5, 3.0, step=0.5)] = 2.0
    rsi_period: Annotated[int, Meta(ge=2), Param(7, 21, step=7)] = 14
    oversold: Annotated[float, Meta(gt=0, lt=100), Param(20.0, 40.0, step=5.0)] = 30.0
    overbought: Annotated[float, Meta(gt=0, lt=100)] = 70.0
    # Fractions of the entry price (msgspec bounds do not apply to Decimal: see validate).
    stop_loss: Decimal = Decimal("0.03")
    take_profit: Decimal = Decimal(0)

    def validate(self) -> None:
        """Require 0 < stop_loss < 1, 0 <= take_profit < 1 and oversold < overbought."""
        if not 0 < self.stop_loss < 1:
            raise InvalidValue(f"stop_loss is a fraction in (0, 1), got {self.stop_loss}")
        if not 0 <= self.take_profit < 1:
            raise InvalidValue(f"take_profit is a fraction in [0, 1), got {self.take_profit}")
        if self.oversold >= self.overbought:
            raise InvalidValue(f"need oversold < overbought, got {self.oversold} >= "
                               f"{self.overbought}")


class BollingerRSI(Strategy[BollingerRSIConfig]):
    """Bollinger-band and RSI mean reversion with a fixed-fraction stop-loss, long-only."""

    name = "bollinger_rsi"
    config_type = BollingerRSIConfig

    def on_start(self, context: StrategyContext) -> None:
        """Reset the bands and the RSI; build the exit levels once."""
        super().on_start(context)
        cfg = self.config
        self._bands = BollingerBands(cfg.period, cfg.nbdev)
        self._rsi = RSI(cfg.rsi_period)
        self._stop = Level(offset=cfg.stop_loss)
        self._take = Level(offset=cfg.take_profit) if cfg.take_profit > 0 else None

    def on_bar(self, bar: Bar) -> Sequence[Command] | None:
        """Update the bands and RSI with the close, then act on the levels."""
        close = bar.close
        self._bands.update(close)
        self._rsi.update(close)
        lower, middle, rsi = self._bands.lower, self._bands.middle, self._rsi.value
        if lower is None or middle is None or rsi is None:
            return None
        iid = bar.instrument_id
        held = self.context.portfolio.position_qty(iid)
        if held <= 0 and close < lower and rsi < self.config.oversold:
            self._signal(bar, "oversold_dip", OrderSide.BUY, lower, middle, rsi)
            return [self.buy(iid, stop_loss=self._stop, take_profit=self._take)]
        if held > 0 and (close >= middle or rsi > self.config.overbought):
            self._signal(bar, "mean_reached", OrderSide.SELL, lower, middle, rsi)
            return self.exit_all(iid)
        return None

    def _signal(self, bar: Bar, name: str, side: OrderSide, lower: float, middle: float,
                rsi: float) -> None:
        scale = 10**bar.price_precision
        self.signal(bar, name, side, close=bar.close / scale, lower=lower / scale,
                    middle=middle / scale, rsi=rsi)

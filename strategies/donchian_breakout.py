"""``donchian_breakout``: buy a close above the prior channel high, with an ATR stop-loss.

Momentum in the Turtle tradition, long-only. At a bar's close:

- flat, and the close is above the highest high of the previous ``entry_period`` bars: buy
  (sized by the account's policy) with a stop-loss ``stop_atr`` ATRs below the entry fill
  and, if ``take_profit_atr`` > 0, a take-profit that many ATRs above it. The venue holds
  both as one-cancels-other exits once the entry fills;
- long, and the close is below the lowest low of the previous ``exit_period`` bars: cancel
  the working exits and sell everything.

Both channels exclude the current bar (a close cannot break a channel that contains it).
The stop distance is expressed as a fraction of the entry price (``Level(offset=...)``) so it
moves with the actual fill, and the risk gate's risk-per-trade sizing can read it.
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
from strategies.indicators import ATR, DonchianChannel
from strategies.params import Param

# Offsets are fractions of the entry price, kept to 6 decimals: a readable, exact Decimal.
_OFFSET_PLACES = Decimal("0.000001")
_MAX_OFFSET = 1 - _OFFSET_PLACES


class DonchianConfig(StrategyConfig, frozen=True, kw_only=True):
    """Channel lengths (bars), ATR period (bars), and exits in ATRs."""

    entry_period: Annotated[int, Meta(ge=2), Param(10, 60, step=10)] = 20
    exit_period: Annotated[int, Meta(ge=2), Param(5, 30, step=5)] = 10
    atr_period: Annotated[int, Meta(ge=1), Param(7, 28, step=7)] = 14
    stop_atr: Annotated[float, Meta(gt=0), Param(1.0, 4.0, step=0.5)] = 2.0
    take_profit_atr: Annotated[float, Meta(ge=0)] = 0.0
    # A stop further than this fraction of the price is clamped (a Level offset must be < 1).
    max_stop_fraction: Annotated[float, Meta(gt=0, lt=1)] = 0.5

    def validate(self) -> None:
        """Require an exit channel no longer than the entry channel."""
        if self.exit_period > self.entry_period:
            raise InvalidValue(f"need exit_period <= entry_period, got {self.exit_period} > "
                               f"{self.entry_period}")


class DonchianBreakout(Strategy[DonchianConfig]):
    """Donchian channel breakout with ATR-based protective exits, long-only."""

    name = "donchian_breakout"
    config_type = DonchianConfig

    def on_start(self, context: StrategyContext) -> None:
        """Reset the channels and the ATR."""
        super().on_start(context)
        cfg = self.config
        self._entry = DonchianChannel(cfg.entry_period)
        self._exit = DonchianChannel(cfg.exit_period)
        self._atr = ATR(cfg.atr_period)

    def on_bar(self, bar: Bar) -> Sequence[Command] | None:
        """Test the close against the channels of the previous bars, then update them."""
        entry_high, exit_low = self._entry.upper, self._exit.lower
        self._atr.update(bar.high, bar.low, bar.close)
        self._entry.update(bar.high, bar.low)
        self._exit.update(bar.high, bar.low)
        atr = self._atr.value
        if entry_high is None or exit_low is None or atr is None:
            return None
        iid = bar.instrument_id
        held = self.context.portfolio.position_qty(iid)
        if held <= 0 and bar.close > entry_high:
            stop = self._offset(self.config.stop_atr * atr, bar.close)
            take = (self._offset(self.config.take_profit_atr * atr, bar.close)
                    if self.config.take_profit_atr > 0 else None)
            self._signal(bar, "breakout", OrderSide.BUY, entry_high, atr)
            return [self.buy(iid, stop_loss=Level(offset=stop),
                             take_profit=None if take is None else Level(offset=take))]
        if held > 0 and bar.close < exit_low:
            self._signal(bar, "channel_exit", OrderSide.SELL, exit_low, atr)
            return self.exit_all(iid)
        return None

    def _offset(self, distance: float, close: int) -> Decimal:
        """Return ``distance`` (raw price units) as a fraction of the close, clamped to (0, 1)."""
        fraction = min(distance / close, self.config.max_stop_fraction)
        offset = Decimal(repr(fraction)).quantize(_OFFSET_PLACES)
        return min(max(offset, _OFFSET_PLACES), _MAX_OFFSET)

    def _signal(self, bar: Bar, name: str, side: OrderSide, level: float, atr: float) -> None:
        scale = 10**bar.price_precision
        self.signal(bar, name, side, close=bar.close / scale, channel=level / scale,
                    atr=atr / scale)

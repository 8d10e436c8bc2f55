"""``ma_crossover``: long when the fast SMA of closes crosses above the slow one, flat below."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from msgspec import Meta

from domain.commands import Command
from domain.errors import InvalidValue
from domain.market import Bar
from domain.orders import OrderSide
from domain.ports import StrategyContext
from strategies.base import Strategy, StrategyConfig
from strategies.indicators import SMA
from strategies.params import Param


class MACrossConfig(StrategyConfig, frozen=True, kw_only=True):
    """Periods of the fast and slow simple moving averages, in bars."""

    fast: Annotated[int, Meta(ge=1), Param(5, 50, step=5)] = 20
    slow: Annotated[int, Meta(ge=2), Param(20, 200, step=10)] = 50

    def validate(self) -> None:
        """Require fast < slow."""
        if not 1 <= self.fast < self.slow:
            raise InvalidValue(f"need 1 <= fast < slow, got fast={self.fast} slow={self.slow}")


class MACrossover(Strategy[MACrossConfig]):
    """Moving-average crossover, long-only.

    A cross above at bar t means fast[t] > slow[t] and fast[t-1] <= slow[t-1] with both
    averages defined at t-1; a cross below mirrors it. The averages are compared exactly
    (``sum_fast * slow`` against ``sum_slow * fast`` on fixed-point closes), so equal averages
    are equal and float noise can neither create nor hide a cross.
    """

    name = "ma_crossover"
    config_type = MACrossConfig

    def on_start(self, context: StrategyContext) -> None:
        """Reset the averages."""
        super().on_start(context)
        self._fast = SMA(self.config.fast)
        self._slow = SMA(self.config.slow)
        self._fast_n, self._slow_n = self.config.fast, self.config.slow
        self._previous: int | float | None = None

    def on_bar(self, bar: Bar) -> Sequence[Command] | None:
        """Update both averages and act on a cross."""
        fast, slow = self._fast, self._slow
        close = bar.close
        fast.update(close)
        slow.update(close)
        if slow.count < self._slow_n:
            return None
        # Sign of fast_avg - slow_avg, exactly: the closes are fixed-point ints.
        spread = fast.sum * self._slow_n - slow.sum * self._fast_n
        previous, self._previous = self._previous, spread
        if previous is None:
            return None
        if spread > 0 >= previous:
            if self.context.portfolio.position_qty(bar.instrument_id) <= 0:
                self._signal(bar, "cross_above", OrderSide.BUY)
                return [self.buy(bar.instrument_id)]
        elif spread < 0 <= previous:
            exit_order = self.close(bar.instrument_id)
            if exit_order is not None:
                self._signal(bar, "cross_below", OrderSide.SELL)
                return [exit_order]
        return None

    def _signal(self, bar: Bar, name: str, side: OrderSide) -> None:
        scale = 10**bar.price_precision
        # int / int rounds once: the recorded averages are the exact ones, to float precision.
        self.signal(bar, name, side, fast_sma=self._fast.sum / (self._fast_n * scale),
                    slow_sma=self._slow.sum / (self._slow_n * scale), close=bar.close / scale)

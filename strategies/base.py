"""The ``Strategy`` base class and its frozen, typed configuration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

from domain.commands import Command, SubmitOrder
from domain.errors import InvalidValue
from domain.events import OrderFilled, SignalRaised
from domain.instruments import InstrumentId
from domain.market import Bar
from domain.orders import OrderSide, OrderType
from domain.ports import StrategyContext


class StrategyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every strategy's parameters: frozen, typed, validated at construction."""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> StrategyConfig:
        """Build the config from loose values (CLI strings, JSON), converting and validating."""
        try:
            return msgspec.convert(dict(params), cls, strict=False)
        except msgspec.ValidationError as exc:
            raise InvalidValue(f"invalid parameters for {cls.__name__}: {exc}") from exc


ConfigT = TypeVar("ConfigT", bound=StrategyConfig)


class Strategy(Generic[ConfigT]):
    """A trading strategy on one or more instruments.

    Subclasses set ``name`` and ``config_type``, override ``on_bar`` (and optionally
    ``on_order_filled``) and return commands built with ``buy``/``sell``/``close``.
    """

    name: ClassVar[str] = ""
    config_type: ClassVar[type[StrategyConfig]] = StrategyConfig

    def __init__(
        self,
        config: ConfigT,
        instrument_ids: Sequence[InstrumentId],
        strategy_id: str | None = None,
    ) -> None:
        if not isinstance(config, self.config_type):
            raise InvalidValue(f"{type(self).__name__} needs a {self.config_type.__name__}")
        if not instrument_ids:
            raise InvalidValue("a strategy trades at least one instrument")
        self.config = config
        self.instrument_ids = tuple(instrument_ids)
        self.strategy_id = strategy_id or self.name or type(self).__name__
        self._context: StrategyContext | None = None

    @property
    def context(self) -> StrategyContext:
        """Return the kernel's context (available from ``on_start`` on)."""
        if self._context is None:
            raise RuntimeError(f"strategy {self.strategy_id} has not been started by a kernel")
        return self._context

    def on_start(self, context: StrategyContext) -> None:
        """Receive the kernel's context; override to set up state, then call super()."""
        self._context = context

    def on_bar(self, bar: Bar) -> Sequence[Command] | None:
        """Handle a closed bar; return the commands it leads to."""
        return None

    def on_order_filled(self, event: OrderFilled) -> None:
        """Learn of a fill of one of this strategy's orders."""

    def signal(self, bar: Bar, name: str, side: OrderSide | None, **values: float) -> None:
        """Record a decision at this bar with the indicator values behind it."""
        self.context.record_signal(SignalRaised(
            strategy_id=self.strategy_id, instrument_id=bar.instrument_id, name=name, side=side,
            values=values, ts_event=bar.ts_close))

    # -- command helpers -----------------------------------------------------------------
    def buy(self, instrument_id: InstrumentId, **fields: Any) -> SubmitOrder:
        """Return a buy order; without a size, the account's sizing policy sizes it."""
        return self._order(instrument_id, OrderSide.BUY, fields)

    def sell(self, instrument_id: InstrumentId, **fields: Any) -> SubmitOrder:
        """Return a sell order."""
        return self._order(instrument_id, OrderSide.SELL, fields)

    def close(self, instrument_id: InstrumentId) -> SubmitOrder | None:
        """Return a reduce-only market order that flattens the position, or None when flat."""
        held = self.context.portfolio.position_qty(instrument_id)
        if held == 0:
            return None
        side = OrderSide.SELL if held > 0 else OrderSide.BUY
        return self._order(instrument_id, side, {"quantity": abs(held), "reduce_only": True})

    def _order(self, instrument_id: InstrumentId, side: OrderSide,
               fields: dict[str, Any]) -> SubmitOrder:
        fields.setdefault("type", OrderType.MARKET)
        return SubmitOrder(client_order_id=self.context.next_client_order_id(),
                           strategy_id=self.strategy_id, instrument_id=instrument_id,
                           side=side, **fields)

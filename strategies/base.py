"""The ``Strategy`` base class and its frozen, typed configuration (strategy API version 1).

A strategy is a class with a ``name``, a ``config_type`` (a ``StrategyConfig``: typed, validated
parameters with their search ranges) and handlers the kernel calls with validated domain
objects: ``on_bar(Bar)``, ``on_trade(Trade)``, ``on_order_filled(OrderFilled)``. Handlers
return commands (``SubmitOrder`` with optional stop-loss/take-profit ``Level``s,
``CancelAllOrders``); they read the account through ``self.context.portfolio`` and slow
features through ``self.features`` and do no I/O. See docs/strategies.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Context, Decimal
from functools import cache
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar, get_args, get_origin

import msgspec

from domain.commands import CancelAllOrders, Command, SubmitOrder
from domain.errors import InvalidValue
from domain.events import OrderFilled, SignalRaised
from domain.instruments import InstrumentId
from domain.market import Bar, Trade
from domain.orders import OrderSide, OrderType
from domain.ports import StrategyContext
from strategies.features import FeatureSource, FeatureView, NoFeatures
from strategies.params import Choice, Dimension, Param, SearchSpace

# Bumped when the handler contract changes; part of every strategy version's hash.
API_VERSION = 1


class StrategyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every strategy's parameters: frozen, typed, validated at construction.

    Construction checks every field against its annotation (type and ``msgspec.Meta`` bounds,
    finite numbers), normalises it (an int given for a float field becomes a float, a list for a
    tuple a tuple) so that equal parameters have one canonical form, then calls ``validate``
    for rules across fields. Override ``validate``, not ``__post_init__``.
    """

    def __post_init__(self) -> None:
        for name, annotation in _fields(type(self)):
            value = getattr(self, name)
            try:
                typed = msgspec.convert(value, annotation, strict=True)
            except msgspec.ValidationError as exc:
                raise InvalidValue(f"{type(self).__name__}.{name}: {exc}") from None
            _check_finite(typed, name)
            if isinstance(typed, Decimal):
                typed = _canonical_decimal(typed)
            if typed is not value:
                msgspec.structs.force_setattr(self, name, typed)
        self.validate()

    def validate(self) -> None:
        """Raise ``InvalidValue`` when the parameters do not fit together (override)."""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        """Build the config from loose values (CLI strings, JSON), converting and validating."""
        try:
            return msgspec.convert(dict(params), cls, strict=False)
        except msgspec.ValidationError as exc:
            raise InvalidValue(f"invalid parameters for {cls.__name__}: {exc}") from exc

    @classmethod
    def search_space(cls) -> SearchSpace:
        """Return the search ranges declared with ``Param``/``Choice`` annotations."""
        dimensions: list[tuple[str, Dimension]] = []
        for name, annotation in _fields(cls):
            if get_origin(annotation) is not Annotated:
                continue
            base, *extras = get_args(annotation)
            for extra in extras:
                if isinstance(extra, Param):
                    dimensions.append((name, extra.bind(base)))
                elif isinstance(extra, Choice):
                    dimensions.append((name, extra))
        return SearchSpace(cls, tuple(dimensions))

    def params(self) -> dict[str, Any]:
        """Return the parameters as JSON-ready builtins (decimals as strings)."""
        params: dict[str, Any] = msgspec.to_builtins(self)
        return params

    def canonical_json(self) -> str:
        """Return the parameters as canonical JSON: sorted keys, no spaces, every field.

        Equal configs give equal text (fields are normalised at construction), so the text can
        be hashed into a strategy version and used as a sweep partition's identity.
        """
        return json.dumps(self.params(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False)


@cache
def _fields(cls: type[msgspec.Struct]) -> tuple[tuple[str, Any], ...]:
    """Return (name, resolved annotation) per field; resolving costs milliseconds, so once."""
    return tuple((field.name, field.type) for field in msgspec.structs.fields(cls))


def _canonical_decimal(value: Decimal) -> Decimal:
    """Return ``value`` without trailing zeros or exponent: 0.030, 3E-2 and 0.03 are one text.

    Normalised in a context as wide as the value, so no digit is ever rounded away.
    """
    if value.is_zero():
        return Decimal(0)  # also turns -0 into 0
    wide = Context(prec=max(28, len(value.as_tuple().digits)))
    return Decimal(format(value.normalize(wide), "f"))


def _check_finite(value: Any, name: str) -> None:
    """Refuse NaN and infinities anywhere in a parameter (msgspec's types let them through)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue(f"{name} must be finite, got {value!r}")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidValue(f"{name} must be finite, got {value}")
    elif isinstance(value, tuple | list | frozenset):
        for item in value:
            _check_finite(item, name)
    elif isinstance(value, dict):
        for item in value.values():
            _check_finite(item, name)
    elif isinstance(value, msgspec.Struct):
        for field in msgspec.structs.fields(value):
            _check_finite(getattr(value, field.name), f"{name}.{field.name}")


ConfigT = TypeVar("ConfigT", bound=StrategyConfig)


class Strategy(Generic[ConfigT]):
    """A trading strategy on one or more instruments.

    Subclasses set ``name`` and ``config_type``, override the handlers they need and return
    commands built with ``buy``/``sell``/``close``/``cancel_all``. Slow features they read are
    named in ``slow_features`` (or ``required_features`` when they depend on the config).
    """

    name: ClassVar[str] = ""
    config_type: ClassVar[type[StrategyConfig]] = StrategyConfig
    api_version: ClassVar[int] = API_VERSION
    slow_features: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        config: ConfigT,
        instrument_ids: Sequence[InstrumentId],
        strategy_id: str | None = None,
        *,
        features: FeatureSource | None = None,
    ) -> None:
        """Bind a validated config to instruments; ``features`` supplies declared slow features."""
        if not isinstance(config, self.config_type):
            raise InvalidValue(f"{type(self).__name__} needs a {self.config_type.__name__}")
        if not instrument_ids:
            raise InvalidValue("a strategy trades at least one instrument")
        self.config = config
        self.instrument_ids = tuple(instrument_ids)
        self.strategy_id = strategy_id or self.name or type(self).__name__
        self._feature_source: FeatureSource = features if features is not None else NoFeatures()
        self._context: StrategyContext | None = None
        self._features: FeatureView | None = None

    @classmethod
    def search_space(cls) -> SearchSpace:
        """Return the search ranges of this strategy's parameters."""
        return cls.config_type.search_space()

    @classmethod
    def required_features(cls, config: StrategyConfig) -> tuple[str, ...]:
        """Return the slow (dbt) features a run with ``config`` reads; override if it varies."""
        return cls.slow_features

    @property
    def context(self) -> StrategyContext:
        """Return the kernel's context (available from ``on_start`` on)."""
        if self._context is None:
            raise RuntimeError(f"strategy {self.strategy_id} has not been started by a kernel")
        return self._context

    @property
    def features(self) -> FeatureView:
        """Return the read-only view of slow features, as of the kernel's time."""
        if self._features is None:
            raise RuntimeError(f"strategy {self.strategy_id} has not been started by a kernel")
        return self._features

    # -- handlers -------------------------------------------------------------------------
    def on_start(self, context: StrategyContext) -> None:
        """Receive the kernel's context; override to set up state, then call super()."""
        self._context = context
        self._features = FeatureView(self._feature_source, context.timestamp_ns,
                                     self.required_features(self.config))

    def on_bar(self, bar: Bar) -> Sequence[Command] | None:
        """Handle a closed bar; return the commands it leads to."""
        return None

    def on_trade(self, trade: Trade) -> Sequence[Command] | None:
        """Handle an exchange trade (a print) of a subscribed instrument; return commands."""
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

    def cancel_all(self, instrument_id: InstrumentId) -> CancelAllOrders:
        """Return a command cancelling this strategy's working orders (e.g. a bracket's exits)."""
        return CancelAllOrders(strategy_id=self.strategy_id, instrument_id=instrument_id)

    def exit_all(self, instrument_id: InstrumentId) -> list[Command]:
        """Return commands that cancel working exits and flatten: empty when flat."""
        order = self.close(instrument_id)
        return [] if order is None else [self.cancel_all(instrument_id), order]

    def _order(self, instrument_id: InstrumentId, side: OrderSide,
               fields: dict[str, Any]) -> SubmitOrder:
        fields.setdefault("type", OrderType.MARKET)
        return SubmitOrder(client_order_id=self.context.next_client_order_id(),
                           strategy_id=self.strategy_id, instrument_id=instrument_id,
                           side=side, **fields)

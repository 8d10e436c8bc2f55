"""``ml_logistic``: go long while a trained logistic model says "up", flat when it doubts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

from msgspec import Meta

from domain.commands import Command, Level
from domain.errors import InvalidValue
from domain.market import Bar
from domain.orders import OrderSide
from domain.ports import StrategyContext
from strategies.base import Strategy, StrategyConfig
from strategies.ml.model import LinearModel, decode_model, encode_model, sha256_hex
from strategies.params import Param


class MLConfig(StrategyConfig, frozen=True, kw_only=True):
    """The model (from its artifact) and the probability thresholds that act on it.

    ``model_sha256`` must be the hash of the model's artifact bytes: the config names exactly
    one trained model, and that model is part of the strategy version.
    """

    model: LinearModel
    model_sha256: str
    enter_above: Annotated[float, Meta(gt=0, lt=1), Param(0.5, 0.7, step=0.05)] = 0.55
    exit_below: Annotated[float, Meta(gt=0, lt=1), Param(0.3, 0.5, step=0.05)] = 0.45
    # Fraction below the entry fill; 0 places no stop.
    stop_loss: Decimal = Decimal("0.05")

    def validate(self) -> None:
        """Check the model against its hash and the thresholds against each other."""
        actual = sha256_hex(encode_model(self.model))
        if actual != self.model_sha256:
            raise InvalidValue(f"model does not match model_sha256 ({actual} != "
                               f"{self.model_sha256})")
        if self.exit_below > self.enter_above:
            raise InvalidValue(f"need exit_below <= enter_above, got {self.exit_below} > "
                               f"{self.enter_above}")
        if not 0 <= self.stop_loss < 1:
            raise InvalidValue(f"stop_loss is a fraction in [0, 1), got {self.stop_loss}")

    @classmethod
    def from_artifact(cls, payload: bytes, sha256: str, **params: Any) -> MLConfig:
        """Build the config from artifact bytes the caller loaded, checking their hash."""
        return cls.from_params({**params, "model": decode_model(payload, sha256),
                                "model_sha256": sha256})


class LogisticSignal(Strategy[MLConfig]):
    """Long when P(up) > ``enter_above``; exit when it falls below ``exit_below``."""

    name = "ml_logistic"
    config_type = MLConfig

    def on_start(self, context: StrategyContext) -> None:
        """Reset the incremental features."""
        super().on_start(context)
        self._model = self.config.model
        self._state = self._model.spec.state()
        stop = self.config.stop_loss
        self._stop = Level(offset=stop) if stop > 0 else None

    def on_bar(self, bar: Bar) -> Sequence[Command] | None:
        """Score this bar's features and act on the thresholds."""
        features = self._state.update(bar.close)
        if features is None:
            return None
        p_up = self._model.probability(features)
        iid = bar.instrument_id
        held = self.context.portfolio.position_qty(iid)
        if held <= 0 and p_up > self.config.enter_above:
            self.signal(bar, "model_up", OrderSide.BUY, p_up=p_up)
            return [self.buy(iid, stop_loss=self._stop)]
        if held > 0 and p_up < self.config.exit_below:
            self.signal(bar, "model_doubts", OrderSide.SELL, p_up=p_up)
            return self.exit_all(iid)
        return None

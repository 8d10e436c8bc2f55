"""Cost models of the simulated venue: fees and slippage, in basis points of notional."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import InvalidValue
from domain.events import Liquidity
from domain.orders import OrderSide

BPS = Decimal(10_000)


def _bps(value: Decimal, name: str) -> Decimal:
    if not value.is_finite() or value < 0:
        raise InvalidValue(f"{name} must be a non-negative number of basis points, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class FeeModel:
    """A fee of ``maker_bps``/``taker_bps`` of the fill's notional per side, in quote currency."""

    maker_bps: Decimal = Decimal(10)
    taker_bps: Decimal = Decimal(10)

    def __post_init__(self) -> None:
        _bps(self.maker_bps, "maker fee")
        _bps(self.taker_bps, "taker fee")

    @classmethod
    def flat(cls, bps: Decimal) -> FeeModel:
        """Charge the same rate to makers and takers."""
        return cls(maker_bps=bps, taker_bps=bps)

    def rate(self, liquidity: Liquidity) -> Decimal:
        """Return the fee as a fraction of notional."""
        return (self.maker_bps if liquidity is Liquidity.MAKER else self.taker_bps) / BPS


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """Market and stop fills pay ``bps`` worse than the reference price; limit fills pay none."""

    bps: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _bps(self.bps, "slippage")

    def apply(self, price: Decimal, side: OrderSide) -> Decimal:
        """Return the price a taker actually gets."""
        if not self.bps:
            return price
        shift = self.bps / BPS
        return price * (1 + shift) if side is OrderSide.BUY else price * (1 - shift)

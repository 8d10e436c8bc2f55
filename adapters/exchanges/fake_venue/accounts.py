"""Spot cash accounts: free and locked balances per asset, moved only by the matching engine.

Every change goes through ``lock``/``unlock``/``credit``/``debit_*`` and records the assets it
touched, so the ``outboundAccountPosition`` event that follows names exactly those assets with
the same numbers ``GET /api/v3/account`` would answer at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.exchanges.fake_venue.config import AccountConfig
from adapters.exchanges.fake_venue.wire import ZERO, VenueError, fmt

INSUFFICIENT = "Account has insufficient balance for requested action."


@dataclass(slots=True)
class Balance:
    """One asset's balance."""

    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass(slots=True)
class Account:
    """One account's keys, balances and commission rates."""

    config: AccountConfig
    uid: int
    balances: dict[str, Balance] = field(default_factory=dict)
    update_time: int = 0
    touched: set[str] = field(default_factory=set)  # assets changed since the last report

    @property
    def api_key(self) -> str:
        """Return the account's API key."""
        return self.config.api_key

    def balance(self, asset: str) -> Balance:
        """Return (creating at zero) the balance of ``asset``."""
        found = self.balances.get(asset)
        if found is None:
            found = self.balances[asset] = Balance()
        return found

    def _touch(self, asset: str, ts: int) -> None:
        self.touched.add(asset)
        self.update_time = max(self.update_time, ts)

    def lock(self, asset: str, amount: Decimal, ts: int) -> None:
        """Move ``amount`` from free to locked, or refuse with -2010."""
        bal = self.balance(asset)
        if amount > bal.free:
            raise VenueError(-2010, INSUFFICIENT)
        bal.free -= amount
        bal.locked += amount
        self._touch(asset, ts)

    def unlock(self, asset: str, amount: Decimal, ts: int) -> None:
        """Move ``amount`` from locked back to free."""
        if amount:
            bal = self.balance(asset)
            bal.locked -= amount
            bal.free += amount
            self._touch(asset, ts)

    def debit_locked(self, asset: str, amount: Decimal, ts: int) -> None:
        """Spend ``amount`` of what is locked."""
        bal = self.balance(asset)
        bal.locked -= amount
        self._touch(asset, ts)

    def debit_free(self, asset: str, amount: Decimal, ts: int) -> None:
        """Spend ``amount`` of what is free, or refuse with -2010."""
        bal = self.balance(asset)
        if amount > bal.free:
            raise VenueError(-2010, INSUFFICIENT)
        bal.free -= amount
        self._touch(asset, ts)

    def credit(self, asset: str, amount: Decimal, ts: int) -> None:
        """Add ``amount`` to the free balance (a negative amount withdraws)."""
        bal = self.balance(asset)
        bal.free += amount
        self._touch(asset, ts)

    def take_touched(self) -> list[str]:
        """Return and forget the assets changed since the last call."""
        out = sorted(self.touched)
        self.touched.clear()
        return out

    def rest_balances(self, omit_zero: bool = False) -> list[dict[str, str]]:
        """Return ``balances`` as ``GET /api/v3/account`` lists them."""
        return [{"asset": a, "free": fmt(b.free), "locked": fmt(b.locked)}
                for a, b in sorted(self.balances.items())
                if not omit_zero or b.free or b.locked]

    def position_event(self, assets: Iterable[str], now: int) -> dict[str, Any]:
        """Return the ``outboundAccountPosition`` event for ``assets``."""
        return {"e": "outboundAccountPosition", "E": now, "u": self.update_time,
                "B": [{"a": a, "f": fmt(self.balance(a).free), "l": fmt(self.balance(a).locked)}
                      for a in assets]}

    def account_info(self, now: int) -> dict[str, Any]:
        """Return ``GET /api/v3/account`` (shape of the recorded account response)."""
        maker = self.config.maker_commission
        taker = self.config.taker_commission
        return {
            "makerCommission": int(maker * 10_000),
            "takerCommission": int(taker * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": fmt(maker), "taker": fmt(taker), "buyer": fmt(ZERO),
                                "seller": fmt(ZERO)},
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.update_time or now,
            "accountType": "SPOT",
            "balances": self.rest_balances(),
            "permissions": ["SPOT"],
            "uid": self.uid,
        }


class Accounts:
    """The venue's accounts by API key."""

    def __init__(self, configs: Iterable[AccountConfig]) -> None:
        self.by_key: dict[str, Account] = {}
        for uid, cfg in enumerate(configs, start=354_937_001):
            account = Account(cfg, uid)
            for asset, amount in cfg.balances.items():
                account.balance(asset).free = amount
            self.by_key[cfg.api_key] = account

    def get(self, api_key: str) -> Account | None:
        """Return the account of ``api_key``, if there is one."""
        return self.by_key.get(api_key)

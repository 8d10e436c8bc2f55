"""Incremental technical indicators: O(1) work per update, values matching TA-Lib."""

from strategies.indicators.channels import DonchianChannel
from strategies.indicators.moving_averages import EMA, SMA
from strategies.indicators.oscillators import RSI
from strategies.indicators.volatility import ATR, BollingerBands

__all__ = ["ATR", "EMA", "RSI", "SMA", "BollingerBands", "DonchianChannel"]

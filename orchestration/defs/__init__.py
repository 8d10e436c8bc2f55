"""Dagster definitions by domain: ``market_data`` (raw trades and venue candles), ``vendors``
(vendor data) and ``features`` (the dbt project: candles, features, P&L)."""

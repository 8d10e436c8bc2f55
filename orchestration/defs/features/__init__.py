"""The dbt project as Dagster assets: candles, features, vendor features and P&L."""

"""Raw market data: exchange trades and the venue's own candles, by UTC day."""

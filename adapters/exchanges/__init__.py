"""Exchange adapters: the Binance client feed and the local fake Binance spot venue."""

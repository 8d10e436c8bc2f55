"""Vendor data (CoinGecko, CoinMarketCap, CryptoPanic, Glassnode) into the raw vendor tables."""

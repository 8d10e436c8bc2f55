"""File formats: candle CSVs in, reports out."""

"""The one deterministic kernel for backtest, paper and live (ARCHITECTURE.md, decision 1).

It never awaits and never reads a wall clock: the clock, the feed and the venue are injected.
"""

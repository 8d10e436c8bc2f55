"""Strategies: the ``Strategy`` base, built-in strategies and incremental indicators.

A strategy receives validated domain objects one at a time and returns commands; it does no I/O
and reads no clock (the kernel hands it what it needs).
"""

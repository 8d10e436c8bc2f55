"""Lockgate's domain: identifiers, exact values, market data, orders, commands, events and ports.

Pure data and rules: no I/O, no clocks, no project imports. Everything else builds on it.
"""

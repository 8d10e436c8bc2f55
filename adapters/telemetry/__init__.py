"""Telemetry: Prometheus metrics (and, later, traces and JSON logs)."""

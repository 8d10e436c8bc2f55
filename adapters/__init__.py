"""Adapters: everything that touches the outside world (files, exchanges, storage, bus)."""

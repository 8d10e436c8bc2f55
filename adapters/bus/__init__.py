"""Message bus and hot-state backends (ARCHITECTURE.md, decision 4).

``memory`` serves unit tests and single-process runs, ``postgres`` is the embedded default that
joins separate processes through the database, ``redis`` (Streams with consumer groups, keys
with TTL) is the production backend. All three pass one contract suite
(tests/adapters/bus/contract.py). Each module is imported on demand, so importing this package
loads no database client.
"""

from adapters.bus.common import DeadLetter, DeadLettering, UnknownGroup

__all__ = ["DeadLetter", "DeadLettering", "UnknownGroup"]

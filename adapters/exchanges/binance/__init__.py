"""Binance spot market data: wire schemas, validation, local order book, gaps and the stream client.

Modules: ``messages`` (msgspec schemas of the wire payloads), ``parse`` (payloads into domain
objects, or ``FeedRejected``), ``streams`` (stream names and URLs), ``orderbook`` (local book
from a REST snapshot plus diff events), ``gaps`` (id and open-time continuity), ``backfill``
(the port the REST side implements), ``metrics`` (Prometheus) and ``feed`` (the websockets
client). Nothing is imported here so that importing one module stays cheap.
"""

"""Sample the length of bus streams into a gauge, so operators see a backlog build up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from prometheus_client import Gauge

from domain.messaging import Bus, BusUnavailable

log = logging.getLogger(__name__)


async def watch_stream_lengths(bus: Bus, streams: Sequence[str], gauge: Gauge,
                               interval_s: float = 5.0) -> None:
    """Set ``gauge{stream}`` to each stream's length every ``interval_s`` until cancelled.

    An unreachable bus leaves the last figures in place (and logs it); sampling goes on.
    """
    while True:
        for stream in streams:
            try:
                gauge.labels(stream).set(await bus.length(stream))
            except BusUnavailable as exc:
                log.warning("bus stream length not sampled: %s", exc)
                break
        await asyncio.sleep(interval_s)

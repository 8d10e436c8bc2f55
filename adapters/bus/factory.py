"""Choose the bus backend from settings: Redis when ``redis_url`` is set, else PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.config.settings import LockgateSettings
from domain.messaging import Bus, HotState


@dataclass(frozen=True, slots=True)
class Messaging:
    """The bus and hot state a process uses, and which backend they are."""

    bus: Bus
    hot: HotState
    backend: str

    async def close(self) -> None:
        """Release both."""
        await self.bus.close()
        await self.hot.close()


async def open_messaging(
    settings: LockgateSettings, pool: Any, prefix: str = "lockgate:"
) -> Messaging:
    """Open Redis (production) if configured, else the PostgreSQL backend on ``pool``."""
    # Imported per backend: a process on the embedded default never loads the Redis client.
    if settings.redis_url is not None:
        from adapters.bus.redis import RedisBus  # noqa: PLC0415
        from adapters.bus.redis_state import RedisHotState  # noqa: PLC0415

        url = settings.redis_url.reveal()
        return Messaging(await RedisBus.connect(url, prefix=prefix),
                         await RedisHotState.connect(url, prefix=prefix), "redis")
    from adapters.bus.postgres import PostgresBus, PostgresHotState  # noqa: PLC0415

    return Messaging(PostgresBus(pool), PostgresHotState(pool), "postgres")

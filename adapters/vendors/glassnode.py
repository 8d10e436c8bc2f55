"""Glassnode: time series of on-chain and market metrics (an `OnChainSource`).

Endpoint (https://docs.glassnode.com/basic-api/endpoints, key:
https://docs.glassnode.com/basic-api/api-key, timestamps:
https://docs.glassnode.com/data/general-information/timestamps-and-resolutions):
``GET /v1/metrics/<category>/<metric>?a=BTC&s=<since>&u=<until>&i=24h`` answers
``[{"t": 1677715200, "v": 110600.96957325003}, ...]``; ``t`` is the unix start of the interval
(UTC), which becomes ``observed_at``. The key (secret ``glassnode_api_key``) travels in the
documented ``X-Api-Key`` header rather than the ``api_key`` query parameter, so it never sits
in a URL.

Bad data: a series is refused whole when any point is mistyped, because a type change is a
format change that touches every point and a partial series would read as a gap; a point whose
``v`` is null (the vendor has no value for that interval) is dropped and counted, and the rest
of the series is kept. Metrics answering several values per point (``o`` instead of ``v``) are
refused with a message saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import msgspec

from adapters.secrets import Secret, SecretProvider
from adapters.vendors.decoding import build, decode, from_unix, upper_code
from adapters.vendors.http import Runtime, VendorClient, VendorHttp, VendorHttpConfig, require_key
from adapters.vendors.metrics import Rejection, VendorMetrics
from adapters.vendors.ports import Dropped, Fetched, MetricPoint
from domain.errors import InvalidValue

VENDOR: Final = "glassnode"
SECRET_NAME: Final = "glassnode_api_key"
DEFAULT_BASE_URL: Final = "https://api.glassnode.com"
KEY_HEADER: Final = "X-Api-Key"
INTERVALS: Final = frozenset({"10m", "1h", "24h", "1w", "1month"})
# ``category/metric`` (sometimes deeper): lower-case path segments only, so a metric name can
# never step outside /v1/metrics/.
_METRIC = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)+$")


@dataclass(frozen=True, slots=True)
class GlassnodeConfig:
    """Where Glassnode is and how fast to ask (the documented default is 600 calls a minute)."""

    http: VendorHttpConfig = field(default_factory=lambda: VendorHttpConfig(
        DEFAULT_BASE_URL, rate_per_second=5.0, burst=5))


class _Point(msgspec.Struct):
    t: int
    v: Decimal | None = None
    o: dict[str, Any] | None = None


class GlassnodeClient(VendorClient):
    """An async Glassnode client; implements `OnChainSource`."""

    vendor: str = VENDOR

    def __init__(self, api_key: Secret, config: GlassnodeConfig | None = None, *,
                 metrics: VendorMetrics | None = None, runtime: Runtime | None = None) -> None:
        self.config = config or GlassnodeConfig()
        self._http = VendorHttp(VENDOR, self.config.http, metrics=metrics,
                                header_keys={KEY_HEADER: api_key}, runtime=runtime)

    @classmethod
    def from_secrets(cls, config: GlassnodeConfig | None = None, *,
                     secrets: SecretProvider | None = None, metrics: VendorMetrics | None = None,
                     runtime: Runtime | None = None) -> GlassnodeClient:
        """Build a client whose key comes from the secrets provider chain (required)."""
        return cls(require_key(secrets, SECRET_NAME), config, metrics=metrics, runtime=runtime)

    async def series(self, metric: str, asset: str, *, since: datetime | None = None,
                     until: datetime | None = None, interval: str = "24h",
                     ) -> Fetched[MetricPoint]:
        """Return ``metric`` (``category/name``, e.g. ``addresses/active_count``) for ``asset``."""
        if not _METRIC.match(metric):
            raise InvalidValue(f"metric must look like 'category/name', got {metric!r}")
        if interval not in INTERVALS:
            raise InvalidValue(f"interval must be one of {sorted(INTERVALS)}, got {interval!r}")
        for name, when in (("since", since), ("until", until)):
            if when is not None and when.tzinfo is None:
                raise InvalidValue(f"{name} must be timezone-aware, got {when!r}")
        code = upper_code(asset)
        params = {"a": code, "i": interval, "f": "json", "timestamp_format": "unix"}
        if since is not None:
            params["s"] = str(int(since.timestamp()))
        if until is not None:
            params["u"] = str(int(until.timestamp()))
        answer = await self._http.get(f"/v1/metrics/{metric}", params)
        points = decode(self._http, answer.body, list[_Point])
        items: list[MetricPoint] = []
        dropped: list[Dropped] = []
        for index, point in enumerate(points):
            where = f"$[{index}]"
            if point.v is None:
                if point.o is not None:
                    raise self._http.reject(
                        Rejection.INVALID_PAYLOAD, f"{where}.o",
                        f"{metric} answers several values per point; ask for one of them")
                self._http.drop("null_value", where, "v is null")
                dropped.append(Dropped(where, "null_value"))
                continue
            item = build(self._http, where, dropped, _point, metric, code, point.t, point.v,
                         answer.available_at)
            if item is not None:
                items.append(item)
        return Fetched(tuple(items), tuple(dropped))


def _point(metric: str, asset: str, t: int, v: Decimal, available_at: datetime) -> MetricPoint:
    return MetricPoint(vendor=VENDOR, metric=metric, asset=asset, observed_at=from_unix(t),
                       value=v, available_at=available_at)

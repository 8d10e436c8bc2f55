"""Local fake vendors (CoinGecko, CoinMarketCap, CryptoPanic, Glassnode) over real sockets.

Each fake answers in its vendor's documented response format (the modules cite the pages),
with deterministic data (prices replayed from the real candles in ``../shared/data``), the
vendor's own error bodies, key checks, and switchable faults (5xx, 429 with ``Retry-After``,
malformed JSON, a wrong envelope, a mistyped or null field, a stall):

    running = await serve_fakes(FakeVendorsConfig(port=0))
    running["glassnode"].faults.rate_limit(1, retry_after="1")
    config = GlassnodeConfig(http=VendorHttpConfig(running.base_url("glassnode")))
    ...
    await running.stop()

``python -m adapters.vendors.fake --port 8790`` runs them as a process for the demo and prints
one JSON line with each vendor's base URL. The keys they accept are `DEMO_API_KEYS`.
"""

from adapters.vendors.fake.faults import VendorFaults
from adapters.vendors.fake.server import (
    DEMO_API_KEYS,
    VENDORS,
    FakeVendorsConfig,
    RunningFakes,
    build_app,
    build_fakes,
    serve_fakes,
)

__all__ = [
    "DEMO_API_KEYS",
    "VENDORS",
    "FakeVendorsConfig",
    "RunningFakes",
    "VendorFaults",
    "build_app",
    "build_fakes",
    "serve_fakes",
]

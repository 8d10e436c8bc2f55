"""Point an exchange client's URLs at another host (Binance, its testnet, the local venue)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_URL = re.compile(r"^(https?|wss?)://[^/]+(/.*)?$")


def rewrite_urls(urls: Mapping[str, Any], rest_url: str, ws_url: str) -> dict[str, Any]:
    """Rewrite every URL of a (nested) mapping such as ccxt's ``urls['api']``, keeping paths:
    http(s) ones to ``rest_url``, ws(s) ones to ``ws_url``."""
    def rewrite(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, str) and (match := _URL.match(value)):
            base = ws_url if match.group(1).startswith("ws") else rest_url
            return base.rstrip("/") + (match.group(2) or "")
        return value

    return {k: rewrite(v) for k, v in urls.items()}

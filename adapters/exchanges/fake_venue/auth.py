"""Binance request security: API keys, HMAC-SHA256 signatures and timing (``recvWindow``).

REST signs the query string concatenated with the request body, exactly as sent (percent-encoding
included) and without the ``signature`` parameter; the WebSocket API signs its ``params`` sorted by
name and joined as ``key=value`` pairs with ``&``. HMAC signatures compare case-insensitively.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.exchanges.fake_venue.accounts import Account, Accounts
from adapters.exchanges.fake_venue.wire import VenueError, mandatory

MAX_RECV_WINDOW = Decimal(60_000)
DEFAULT_RECV_WINDOW = Decimal(5000)
_SIGNATURE_PARAM = re.compile(r"(^|&)signature=[^&]*")
_BAD_KEY_FORMAT = VenueError(-2014, "API-key format invalid.", 401)
_REJECTED_KEY = VenueError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def sign(secret: str, payload: str) -> str:
    """Return the hex HMAC-SHA256 of ``payload`` under ``secret`` (Binance's HMAC signature)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def strip_signature(raw: str) -> str:
    """Return a raw query string or body without its ``signature`` parameter."""
    return _SIGNATURE_PARAM.sub("", raw).lstrip("&")


def rest_payload(raw_query: str, raw_body: str) -> str:
    """Return the text a REST signature covers: query string then body, unseparated."""
    return strip_signature(raw_query) + strip_signature(raw_body)


def ws_payload(params: Mapping[str, Any]) -> str:
    """Return the text a WebSocket API signature covers: params by name, except ``signature``."""
    return "&".join(f"{k}={_ws_value(v)}" for k, v in sorted(params.items()) if k != "signature")


def _ws_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def account_for_key(accounts: Accounts, api_key: str | None) -> Account:
    """Return the account of an ``X-MBX-APIKEY``, or raise -2014/-2015 as Binance does."""
    if not api_key:
        raise _BAD_KEY_FORMAT
    if not api_key.isalnum() or len(api_key) > 64:
        raise _BAD_KEY_FORMAT
    account = accounts.get(api_key)
    if account is None:
        raise _REJECTED_KEY
    return account


def check_timing(timestamp: str | None, recv_window: str | None, server_ms: int) -> None:
    """Refuse a request outside its ``recvWindow`` (-1021) or with malformed timing (-1102)."""
    if not timestamp:
        raise mandatory("timestamp")
    try:
        ts = Decimal(timestamp)
        window = Decimal(recv_window) if recv_window else DEFAULT_RECV_WINDOW
    except InvalidOperation as exc:
        raise mandatory("timestamp" if not _is_number(timestamp) else "recvWindow") from exc
    if ts > 10**14:  # microseconds, which Binance also accepts
        ts /= 1000
    if window <= 0 or window > MAX_RECV_WINDOW:
        raise VenueError(-1131, "recvWindow must be less than 60000")
    if ts >= server_ms + 1000:
        raise VenueError(-1021, "Timestamp for this request was 1000ms ahead of the server's "
                                "time.")
    if server_ms - ts > window:
        raise VenueError(-1021, "Timestamp for this request is outside of the recvWindow.")


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def check_signature(account: Account, payload: str, signature: str | None) -> None:
    """Refuse a missing (-1102) or wrong (-1022) signature."""
    if not signature:
        raise mandatory("signature")
    expected = sign(account.config.secret_key, payload)
    if not hmac.compare_digest(expected, signature.lower()):
        raise VenueError(-1022, "Signature for this request is not valid.")

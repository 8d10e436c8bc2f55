"""Errors of the vendor clients: each names the vendor, never an API key.

Messages are built from the vendor's name, the request path (never the query, where some
vendors want their key) and what went wrong; every message also passes through the client's
redaction before it is raised, so a key that a vendor echoes back is masked too.
"""

from __future__ import annotations


class VendorError(Exception):
    """A vendor request failed; ``vendor`` says which vendor."""

    def __init__(self, vendor: str, message: str) -> None:
        super().__init__(f"{vendor}: {message}")
        self.vendor = vendor


class VendorUnavailable(VendorError):
    """The vendor did not answer usefully (5xx, 429, network) even after retries.

    ``retry_after`` is the wait in seconds the vendor last asked for, when it said so: a
    scheduler can come back then instead of hammering it.
    """

    def __init__(self, vendor: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(vendor, message)
        self.retry_after = retry_after


class VendorRequestRefused(VendorError):
    """The vendor refused the request itself (4xx other than 429): retrying cannot help."""

    def __init__(self, vendor: str, message: str, status: int) -> None:
        super().__init__(vendor, message)
        self.status = status


class VendorAuthError(VendorRequestRefused):
    """The vendor refused our credentials (401/403): the key is missing, wrong or not entitled."""


class VendorPayloadError(VendorError):
    """The vendor answered, but not in the format we rely on.

    ``field`` is the JSON path of the offending field (``$.data.BTC.quote.USD.price``) or
    ``$`` for the whole body; ``reason`` is one of ``malformed_json``, ``invalid_payload`` or
    ``vendor_error`` (the vendor's own error object in a 200 answer).
    """

    def __init__(self, vendor: str, field: str, reason: str, detail: str) -> None:
        super().__init__(vendor, f"{reason} at `{field}`: {detail}")
        self.field = field
        self.reason = reason

"""Fault injection for the fake vendors, switchable per test.

Each switch arms the next ``n`` requests to that fake (counted across connections); a request
takes at most one fault, in the order stall, server error, rate limit, then one payload fault
(malformed JSON, wrong envelope, wrong type in one item, null in one item). Key checks happen
first: a request with a missing or wrong key gets the vendor's 401 and leaves the armed faults
for the next request that is let in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from domain.errors import InvalidValue

PAYLOAD_FAULTS: Final = ("malformed", "wrong_envelope", "wrong_type", "null_value")


@dataclass(frozen=True, slots=True)
class Fault:
    """The fault one request takes."""

    kind: str
    status: int = 0
    retry_after: str | None = None
    seconds: float = 0.0


def _count(n: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise InvalidValue(f"a fault count must be a non-negative int, got {n!r}")
    return n


class VendorFaults:
    """One fake vendor's fault switchboard."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Disarm every fault."""
        self._stall: list[float] = []
        self._server: list[int] = []
        self._limited: list[str | None] = []
        self._payload: list[str] = []

    def stall(self, seconds: float, n: int = 1) -> None:
        """Hold each of the next ``n`` answers ``seconds`` (past a client's timeout: a timeout)."""
        if not seconds >= 0:
            raise InvalidValue(f"stall seconds must be non-negative, got {seconds!r}")
        self._stall += [seconds] * _count(n)

    def server_error(self, n: int = 1, status: int = 503) -> None:
        """Answer the next ``n`` requests with ``status`` (a 5xx) and the vendor's error body."""
        if not 500 <= status <= 599:
            raise InvalidValue(f"a server error is a 5xx status, got {status}")
        self._server += [status] * _count(n)

    def rate_limit(self, n: int = 1, retry_after: str | None = "1") -> None:
        """Answer the next ``n`` requests 429 with ``Retry-After: retry_after`` (None: omit it)."""
        self._limited += [retry_after] * _count(n)

    def malformed(self, n: int = 1) -> None:
        """Cut the next ``n`` bodies in half (not JSON any more), with status 200."""
        self._payload += ["malformed"] * _count(n)

    def wrong_envelope(self, n: int = 1) -> None:
        """Wrap the next ``n`` payloads the wrong way (an object where a list belongs, or back)."""
        self._payload += ["wrong_envelope"] * _count(n)

    def wrong_type(self, n: int = 1) -> None:
        """Give one field of the first item of the next ``n`` payloads a wrong type."""
        self._payload += ["wrong_type"] * _count(n)

    def null_value(self, n: int = 1) -> None:
        """Null one needed field of the first item of the next ``n`` payloads."""
        self._payload += ["null_value"] * _count(n)

    def take(self) -> tuple[float, Fault | None]:
        """Consume what is armed for one request: (seconds to stall, the fault or None)."""
        stall = self._stall.pop(0) if self._stall else 0.0
        if self._server:
            return stall, Fault("server_error", status=self._server.pop(0))
        if self._limited:
            return stall, Fault("rate_limit", status=429, retry_after=self._limited.pop(0))
        if self._payload:
            return stall, Fault(self._payload.pop(0))
        return stall, None

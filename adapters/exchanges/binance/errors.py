"""Why a Binance message was refused: a small, fixed set of reasons usable as metric labels."""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    """Every reason a stream message can be refused; the set is closed on purpose (labels)."""

    # The frame could not be decoded into a payload of a subscribed stream.
    MALFORMED_JSON = "malformed_json"
    SCHEMA = "schema"
    UNKNOWN_STREAM = "unknown_stream"
    UNKNOWN_SYMBOL = "unknown_symbol"
    # The payload decoded but its values are not a valid event.
    SYMBOL_MISMATCH = "symbol_mismatch"
    BAD_NUMBER = "bad_number"
    NON_POSITIVE = "non_positive"
    CROSSED_BOOK = "crossed_book"
    INCONSISTENT = "inconsistent"
    # The event is valid but arrived out of sequence (gap tracking).
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order"
    MISALIGNED = "misaligned"


PARSE_ERRORS = frozenset({
    RejectReason.MALFORMED_JSON, RejectReason.SCHEMA,
    RejectReason.UNKNOWN_STREAM, RejectReason.UNKNOWN_SYMBOL,
})
"""Reasons counted as parse errors; every other reason is counted as a rejection."""


class FeedRejected(ValueError):
    """A message was refused; ``reason`` is one of ``RejectReason`` (safe as a metric label).

    ``stream`` names the stream when the envelope could be read, so the refusal can be counted
    against it; ``detail`` is for logs only.
    """

    def __init__(self, reason: RejectReason, detail: str = "", stream: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
        self.stream = stream

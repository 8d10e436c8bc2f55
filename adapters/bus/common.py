"""What every bus backend shares: the dead-letter record, errors and argument checks."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from domain.errors import InvalidValue
from domain.messaging import BusUnavailable


class UnknownGroup(LookupError):
    """A consumer group was used before ``ensure_group`` created it."""

    def __init__(self, stream: str, group: str) -> None:
        super().__init__(f"no consumer group {group!r} on stream {stream!r}; call ensure_group")
        self.stream = stream
        self.group = group


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be decoded, kept with the reason instead of being delivered."""

    stream: str
    message_id: str
    raw: bytes
    error: str


class DeadLettering(Protocol):
    """The boundary-validation side of a backend: its dead letters and how many there were."""

    malformed_total: int

    async def read_dead_letters(
        self, stream: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        """Return up to ``limit`` dead letters, oldest first, of one stream or of all."""
        ...


def monotonic_ms() -> float:
    """Return a monotonic clock reading in milliseconds."""
    return time.monotonic() * 1000.0


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it can name a stream, group, consumer, namespace or key."""
    if not name or len(name) > 200:
        raise InvalidValue(f"a {kind} name has 1 to 200 characters, got {name!r}")
    return name


def check_take(count: int, wait_ms: int, what: str = "block_ms") -> None:
    """Refuse a non-positive batch size or a negative wait."""
    if count < 1:
        raise InvalidValue(f"count must be at least 1, got {count}")
    if wait_ms < 0:
        raise InvalidValue(f"{what} must not be negative, got {wait_ms}")


def check_ttl(ttl_ms: int | None) -> None:
    """Refuse a TTL that is not a positive number of milliseconds."""
    if ttl_ms is not None and ttl_ms <= 0:
        raise InvalidValue(f"ttl_ms must be positive or None, got {ttl_ms}")


def parse_position(message_id: str) -> int:
    """Return the integer position behind a message id of the memory or PostgreSQL bus."""
    # Plain ASCII digits only: int() would also take "+5", " 5" or "1_0".
    if not (isinstance(message_id, str) and message_id.isascii() and message_id.isdigit()):
        raise InvalidValue(f"not a message id of this bus: {message_id!r}")
    return int(message_id)


def parse_positions(message_ids: Sequence[str]) -> list[int]:
    """Return the distinct positions of ``message_ids``."""
    return sorted({parse_position(m) for m in message_ids})


def encode_value(value: Mapping[str, Any]) -> bytes:
    """Encode a hot-state value as JSON (decimals, datetimes and UUIDs become strings)."""
    return b"{" + b",".join(b'%s:%s' % (msgspec.json.encode(name), data)
                            for name, data in encode_fields(value)) + b"}"


def encode_fields(value: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """Encode each field of a hot-state value as JSON: a record, as a Redis hash holds it.

    Field names are non-empty text (a hash field named ``""`` marks an empty record in Redis).
    """
    if not isinstance(value, Mapping):
        raise InvalidValue(f"a hot-state value is a mapping, got {type(value).__name__}")
    fields = []
    for name, item in value.items():
        if not (isinstance(name, str) and name):
            raise InvalidValue(f"hot-state field names are non-empty text, got {name!r}")
        try:
            fields.append((name, msgspec.json.encode(item)))
        except (TypeError, msgspec.EncodeError) as exc:
            raise InvalidValue(f"hot-state field {name!r} must be JSON-compatible: {exc}") from exc
    return fields


def decode_value(data: bytes | str) -> dict[str, Any]:
    """Decode a hot-state value stored by ``encode_value``."""
    return msgspec.json.decode(data, type=dict[str, Any])


def decode_fields(fields: Mapping[bytes, bytes]) -> dict[str, Any]:
    """Decode a record stored field by field by ``encode_fields`` (the marker field skipped)."""
    return {name.decode(): msgspec.json.decode(data) for name, data in fields.items() if name}


@contextlib.contextmanager
def unavailable_on(errors: tuple[type[BaseException], ...], backend: str) -> Iterator[None]:
    """Turn a backend's connection errors into ``BusUnavailable`` (the caller may retry)."""
    try:
        yield
    except errors as exc:
        raise BusUnavailable(f"{backend} unreachable: {type(exc).__name__}: {exc}") from exc

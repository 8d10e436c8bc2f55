"""Bar timeframes such as ``1m``, ``4h`` or ``1d``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import InvalidValue

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^(\d+)([smhdw])$")
NANOS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True, order=True)
class Timeframe:
    """A bar length; ordered by duration."""

    seconds: int

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise InvalidValue(f"timeframe must be positive, got {self.seconds}s")

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        """Parse ``<n><unit>`` with unit s, m, h, d or w (``1h``, ``15m``)."""
        match = _PATTERN.match(text.strip())
        if not match:
            raise InvalidValue(f"timeframe must look like '1m', '4h' or '1d', got {text!r}")
        return cls(int(match.group(1)) * _UNITS[match.group(2)])

    @property
    def nanos(self) -> int:
        """Return the duration in nanoseconds."""
        return self.seconds * NANOS_PER_SECOND

    def __str__(self) -> str:
        for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
            if self.seconds % size == 0:
                return f"{self.seconds // size}{unit}"
        raise AssertionError("unreachable: seconds is a whole number")

"""SQL text helpers shared by assets and checks."""

from __future__ import annotations


def quoted(*parts: str) -> str:
    """Return a (schema-qualified) identifier, each part double-quoted and escaped."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)

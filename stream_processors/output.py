"""What a stage's transform returns: the records to produce."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Output:
    """A record to produce to ``topic``: Avro or JSON bytes, or a tombstone (value None)."""

    topic: str
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)

"""Dead-letter conventions shared by every stage: topic names and the headers that explain."""

from __future__ import annotations

DLQ_PREFIX = "dlq"


def dlq_topic(stage: str) -> str:
    """The dead-letter topic of a stage (``dlq.normalize``, ``dlq.sink``)."""
    return f"{DLQ_PREFIX}.{stage}"


def dlq_headers(
    stage: str, reason: str, topic: str, partition: int, offset: int
) -> list[tuple[str, str | bytes | None]]:
    """Headers that say why a record was rejected and where to find the original."""
    return [
        ("dlq.reason", reason.encode()[:2000]),
        ("dlq.stage", stage.encode()),
        ("dlq.source.topic", topic.encode()),
        ("dlq.source.partition", str(partition).encode()),
        ("dlq.source.offset", str(offset).encode()),
    ]


def reason_label(reason: str) -> str:
    """A low-cardinality label for a rejection reason: its first words, without values."""
    words = reason.split(":", 1)[0].split()
    kept = [w for w in words[:6] if not any(ch.isdigit() or ch in "'\"" for ch in w)]
    return " ".join(kept)[:60]

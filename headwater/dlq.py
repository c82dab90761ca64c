"""Dead-letter conventions shared by every stage: topic names and the headers that explain."""

from __future__ import annotations

DLQ_PREFIX = "dlq"

#: The headers of a dead letter (its key, value and own headers are the original record's).
REASON = "dlq.reason"
STAGE = "dlq.stage"
SOURCE_TOPIC = "dlq.source.topic"
SOURCE_PARTITION = "dlq.source.partition"
SOURCE_OFFSET = "dlq.source.offset"
#: the class of the error that refused it (the sinks')
ERROR = "dlq.error"
#: on a record ``headwater dlq replay`` put back: the dead letter it came from
REPLAYED_FROM = "dlq.replayed-from"
#: on a dead letter too large for Kafka: what was left out (the original stays at its source)
OMITTED = "dlq.omitted"


def dlq_topic(stage: str) -> str:
    """The dead-letter topic of a stage (``dlq.normalize``, ``dlq.sink``)."""
    return f"{DLQ_PREFIX}.{stage}"


def dlq_headers(
    stage: str, reason: str, topic: str, partition: int, offset: int
) -> list[tuple[str, str | bytes | None]]:
    """Headers that say why a record was rejected and where to find the original."""
    return [
        (REASON, reason.encode()[:2000]),
        (STAGE, stage.encode()),
        (SOURCE_TOPIC, topic.encode()),
        (SOURCE_PARTITION, str(partition).encode()),
        (SOURCE_OFFSET, str(offset).encode()),
    ]


def reason_label(reason: str) -> str:
    """A low-cardinality label for a rejection reason: its first words, without values."""
    words = reason.split(":", 1)[0].split()
    kept = [w for w in words[:6] if not any(ch.isdigit() or ch in "'\"" for ch in w)]
    return " ".join(kept)[:60]


def omitted(size: int) -> tuple[str, bytes]:
    """The header of a dead letter sent without the original's key and value, which together
    were too large for Kafka: the original stays readable at its source coordinates."""
    note = (
        f"key and value omitted: {size} bytes, more than Kafka takes (message.max.bytes); "
        "the original is at dlq.source.topic/partition/offset"
    )
    return OMITTED, note.encode()

"""The contract of a processor stage: records in, outputs (or a rejection) out.

A stage reads its ``sources`` and turns each record into zero or more outputs; raising
``RejectedRecord`` (or any other exception) sends the record to ``dlq.<label>`` with the
reason instead. A stateful stage also keeps state per input partition, which the runner
saves to the stage's changelog topic after the batch's outputs were delivered and restores
from it when a partition is assigned (``stream_processors.state``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from confluent_kafka import Message

from headwater.dlq import dlq_headers
from headwater.errors import DependencyUnavailable
from stream_processors.output import Output

#: The stage label (metrics, ``dlq.<label>``) of every normalizer.
NORMALIZE = "normalize"


@dataclass(frozen=True)
class Incoming:
    """One consumed record: where it came from, its key, value and headers."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    #: as the consumer gave them (a list of pairs), the writer schema's among them
    headers: Sequence[tuple[str, bytes | None]] = ()


def incoming(message: Message) -> Incoming:
    """A consumed message (not an error) as a stage's input."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise DependencyUnavailable("Kafka returned a record without topic, partition or offset")
    # a consumed message's headers are (str, bytes) pairs; taken as they are (cheap)
    headers = cast("list[tuple[str, bytes | None]] | None", message.headers())
    return Incoming(topic, partition, offset, message.key(), message.value(), headers or ())


def dead_letter_headers(
    label: str, reason: str, record: Incoming
) -> list[tuple[str, str | bytes | None]]:
    """The headers of a refused record on ``dlq.<label>``: why, where it came from, and the
    record's own (its writer schema among them, for a replay)."""
    return [
        *dlq_headers(label, reason, record.topic, record.partition, record.offset),
        *record.headers,
    ]


class Stage(ABC):
    """One transformation of the processor."""

    #: the name in logs (``normalize_cdc``)
    name: str
    #: the stage label of metrics and the DLQ topic (``normalize``, ``kpis``)
    label: str
    #: the topics it reads
    sources: tuple[str, ...]

    @abstractmethod
    def process(self, record: Incoming) -> list[Output]:
        """The outputs of one record; raises to reject it (it goes to the DLQ)."""


class StatefulStage(Stage):
    """A stage whose state per input partition lives in memory and in a changelog topic."""

    #: the compacted topic holding the state, partitioned like the sources
    changelog: str

    @abstractmethod
    def restore(self, partition: int, entries: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Rebuild a partition's state from its changelog, oldest entry first."""

    @abstractmethod
    def release(self, partition: int) -> None:
        """Forget a partition's state (it was revoked, or is about to be restored again)."""

    def finish(self) -> list[Output]:
        """Outputs due at the end of a batch (e.g. one update per changed row), after every
        record of the batch was processed and before anything is delivered."""
        return []

    @abstractmethod
    def changes(self) -> list[tuple[int, bytes, bytes | None]]:
        """(partition, key, value) to append to the changelog since the last call; clears them."""


Transform = Callable[[str, bytes | None, bytes | None], list[Output]]


class TransformStage(Stage):
    """A stateless stage from a function of (source topic, key, value)."""

    def __init__(self, name: str, label: str, sources: Iterable[str], transform: Transform):
        self.name = name
        self.label = label
        self.sources = tuple(sources)
        self._transform = transform

    def process(self, record: Incoming) -> list[Output]:
        """The transform's outputs."""
        return self._transform(record.topic, record.key, record.value)

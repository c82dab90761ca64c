"""Normalizing a window of the processor's inputs once (``headwater replay processor --until``).

The stateless stages (the normalizers) run over exactly the planned records, in no consumer
group, and their outputs go to the normalized topics as the processor's would, with the
same partitioner (a key stays on its partition); a record a stage refuses goes to its DLQ
with the reason. The sinks and the KPI stage then take the outputs in like any others.

A key's last record on a compacted topic is its truth, so the window must not end up after
a later record of the same key. After the window, the records up to the end when planned
are normalized too, and the outputs of keys the window touched are produced again: those
keys end with their latest record, normalized by the current code, and no other key is
touched. Records refused there were dead-lettered when the processor first read them: they
are only counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Producer

from headwater.dlq import dlq_topic
from headwater.errors import RejectedRecord
from headwater.kafka.clients import make_producer
from headwater.kafka.delivery import DeliveryTracker
from headwater.kafka.ranges import OffsetRange, read_ranges
from headwater.settings import Settings
from stream_processors.base import Incoming, Stage, dead_letter_headers, incoming
from stream_processors.output import Output
from stream_processors.runner import PRODUCER, produce_waiting

Key = tuple[str, bytes]
#: Records normalized between two checks that Kafka acknowledged the outputs.
BATCH = 5000


@dataclass
class NormalizationReport:
    """What normalizing a window did."""

    records: int = 0
    outputs: int = 0
    rejected: int = 0
    filtered: int = 0
    #: records read after the window, and the outputs of keys it touched produced again
    later_read: int = 0
    later_outputs: int = 0
    later_refused: int = 0


class WindowNormalization:
    """Runs stateless stages over planned ranges of their sources, once."""

    def __init__(self, settings: Settings, stages: Iterable[Stage]) -> None:
        self.settings = settings
        self._by_topic = {topic: stage for stage in stages for topic in stage.sources}
        # the runner's settings: above all its partitioner, so a key lands where it always did
        self._producer: Producer = make_producer(settings.kafka, **PRODUCER)

    def run(
        self, window: Sequence[OffsetRange], after: Sequence[OffsetRange]
    ) -> NormalizationReport:
        """Normalize the window, then the records after it for the keys it touched."""
        report = NormalizationReport()
        touched: set[Key] = set()
        for messages in read_ranges(self.settings.kafka, window, BATCH):
            delivery = DeliveryTracker()
            for record in map(incoming, messages):
                report.records += 1
                outputs = self._normalize(record, delivery, report)
                touched |= {(output.topic, output.key) for output in outputs}
                for output in outputs:
                    self._produce(output.topic, output.key, output.value, output.headers, delivery)
                report.outputs += len(outputs)
            delivery.confirm(self._producer)
        for messages in read_ranges(self.settings.kafka, after if touched else [], BATCH):
            delivery = DeliveryTracker()
            for record in map(incoming, messages):
                report.later_read += 1
                try:
                    outputs = self._stage(record).process(record)
                except Exception:  # dead-lettered when the processor read it; counted here
                    report.later_refused += 1
                    continue
                for output in outputs:
                    if (output.topic, output.key) in touched:
                        self._produce(
                            output.topic, output.key, output.value, output.headers, delivery
                        )
                        report.later_outputs += 1
            delivery.confirm(self._producer)
        return report

    def _stage(self, record: Incoming) -> Stage:
        return self._by_topic[record.topic]

    def _normalize(
        self, record: Incoming, delivery: DeliveryTracker, report: NormalizationReport
    ) -> list[Output]:
        """The record's outputs; a refused record goes to its stage's DLQ with the reason."""
        stage = self._stage(record)
        try:
            outputs = stage.process(record)
        except RejectedRecord as rejected:
            reason = rejected.reason
        except Exception as error:  # any failure is a reason to dead-letter, as in the runner
            reason = f"{type(error).__name__}: {error}"
        else:
            report.filtered += not outputs
            return outputs
        report.rejected += 1
        headers = dead_letter_headers(stage.label, reason, record)
        self._produce(dlq_topic(stage.label), record.key, record.value, headers, delivery)
        return []

    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Any,  # an output's or a dead letter's header list
        delivery: DeliveryTracker,
    ) -> None:
        produce_waiting(self._producer, topic, key, value, headers, delivery)

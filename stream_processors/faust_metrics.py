"""The processor's consumer as Prometheus metrics, under the names Faust's monitor gives them.

The dashboards, alerts and ``headwater status`` read the processor's lag, received
messages and rebalances from Faust's Prometheus sensor (``headwater_faust_*``). The batch
runner consumes with its own client, so it records the same series itself: one set of
metric objects per process (a registry refuses a name twice, and tests build many apps).
"""

from __future__ import annotations

import time
from contextlib import suppress
from functools import cache

from confluent_kafka import Consumer, TopicPartition
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import REGISTRY

PREFIX = "headwater_faust"
_END_REFRESH_S = 5.0


@cache
def _metrics() -> FaustMetrics:
    return FaustMetrics.create(REGISTRY, PREFIX)


#: The series of Faust's sensor the runner records (as /metrics names them).
END_OFFSET = f"{PREFIX}_topic_partition_end_offset"
COMMITTED_OFFSET = f"{PREFIX}_topic_partition_offset_commited"  # sic: Faust's spelling
MESSAGES_RECEIVED = f"{PREFIX}_messages_received_total"
REBALANCES = f"{PREFIX}_total_rebalances"


def prometheus_monitor() -> PrometheusMonitor:
    """A monitor for one app, recording into the process-wide Faust metrics."""
    return PrometheusMonitor(metrics=_metrics())


class ConsumerGauges:
    """End and committed offsets per partition, messages received, rebalances."""

    def __init__(self) -> None:
        self._metrics = _metrics()
        self._rebalances = 0
        self._refreshed = 0.0

    def received(self, count: int) -> None:
        """Messages taken from Kafka in one batch."""
        self._metrics.messages_received.inc(count)

    def committed(self, topic: str, partition: int, offset: int) -> None:
        """A committed offset (the next record to read)."""
        self._metrics.topic_partition_offset_commited.labels(topic, str(partition)).set(offset)

    def rebalanced(self) -> None:
        """One more assignment."""
        self._rebalances += 1
        self._metrics.total_rebalances.set(self._rebalances)

    def forget(self, topic: str, partition: int) -> None:
        """A partition that is not this worker's any more."""
        for gauge in (
            self._metrics.topic_partition_offset_commited,
            self._metrics.topic_partition_end_offset,
        ):
            with suppress(KeyError):  # never set: nothing to remove
                gauge.remove(topic, str(partition))

    def refresh(
        self, consumer: Consumer, assigned: set[tuple[str, int]], idle: bool = False
    ) -> None:
        """End offsets of the assigned partitions, at most every few seconds."""
        now = time.monotonic()
        if now - self._refreshed < _END_REFRESH_S:
            return
        self._refreshed = now
        for topic, partition in assigned:
            _, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=1, cached=not idle
            )
            if high >= 0:
                self._metrics.topic_partition_end_offset.labels(topic, str(partition)).set(high)

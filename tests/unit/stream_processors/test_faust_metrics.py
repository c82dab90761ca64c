"""The Faust series the control plane reads are the ones Faust's sensor declares."""

from __future__ import annotations

from headwater.http import series
from stream_processors import faust_metrics
from stream_processors.faust_metrics import ConsumerGauges


def test_the_names_read_elsewhere_are_the_sensors_own() -> None:
    declared = ConsumerGauges()._metrics
    assert series(declared.topic_partition_end_offset) == faust_metrics.END_OFFSET
    assert series(declared.topic_partition_offset_commited) == faust_metrics.COMMITTED_OFFSET
    assert series(declared.messages_received) == faust_metrics.MESSAGES_RECEIVED
    assert series(declared.total_rebalances) == faust_metrics.REBALANCES

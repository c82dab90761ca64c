"""Prometheus metrics of the stream processors."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECORDS_IN = Counter(
    "headwater_processor_records_in", "Records consumed by a processor stage", ["stage", "topic"]
)
RECORDS_OUT = Counter(
    "headwater_processor_records_out", "Records produced by a processor stage", ["stage", "topic"]
)
RECORDS_REJECTED = Counter(
    "headwater_processor_records_rejected",
    "Records a stage sent to its DLQ",
    ["stage", "topic", "reason"],
)
RECORDS_FILTERED = Counter(
    "headwater_processor_records_filtered",
    "Records a stage dropped on purpose (e.g. Debezium tombstones, replaced by ours)",
    ["stage", "topic"],
)
PROCESSING_SECONDS = Histogram(
    "headwater_processor_processing_seconds", "Time to process one record", ["stage"]
)
EVENT_LAG_SECONDS = Histogram(
    "headwater_processor_event_lag_seconds",
    "Now minus the record's source time, when processed",
    ["stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400),
)
BATCH_FAILURES = Counter(
    "headwater_processor_batch_failures",
    "Batches whose outputs Kafka did not take: not committed, redone after a backoff",
)

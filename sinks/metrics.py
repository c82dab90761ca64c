"""Prometheus metrics of the sinks."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCHES = Counter("headwater_sink_batches", "Batches committed to the warehouse", ["sink"])
ROWS = Counter(
    "headwater_sink_rows", "Rows changed in the warehouse", ["sink", "action"]
)  # action: written, deleted, completed (written with values read from the source)
RECORDS = Counter("headwater_sink_records", "Records consumed", ["sink", "outcome"])
SKIPPED_BY_VERSION = Counter(
    "headwater_sink_skipped_by_version",
    "Changes not applied because the warehouse already had a newer version",
    ["sink"],
)
BATCH_SIZE = Histogram(
    "headwater_sink_batch_size_records",
    "Records per batch",
    ["sink"],
    buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 25000),
)
FLUSH_SECONDS = Histogram(
    "headwater_sink_flush_seconds", "Time to stage, merge and commit one batch", ["sink"]
)
COMMIT_LATENCY = Histogram(
    "headwater_sink_commit_latency_seconds",
    "From the source's commit to the warehouse commit",
    ["sink"],
    buckets=(
        0.05,
        0.1,
        0.2,
        0.3,
        0.4,
        0.5,
        0.6,
        0.8,
        1,
        1.25,
        1.5,
        2,
        2.5,
        3,
        4,
        5,
        7.5,
        10,
        30,
        60,
        300,
        3600,
    ),
)
CONSUMER_LAG = Gauge(
    "headwater_sink_consumer_lag_records",
    "High watermark minus the next offset to write, per partition",
    ["sink", "topic", "partition"],
)
WAREHOUSE_UP = Gauge(
    "headwater_sink_warehouse_up",
    "1 while the sink can write to the warehouse, 0 while it waits out an outage",
    ["sink"],
)
RETRIES = Counter("headwater_sink_retries", "Batches retried after a transient error", ["sink"])

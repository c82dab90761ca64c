"""The five Headwater dashboards: the overview, and one per layer of the pipeline.

Queries use only metrics from docs/observability.md and only the ``$__rate_interval`` and
``${datasource}`` variables. Each should return series in a healthy pipeline, so counters
that move only on trouble (poll errors, sink retries, tombstones) fall back to a zero series
shaped like a sibling that always exists.
"""

from __future__ import annotations

from control.dashboards.grafana import (
    JSON,
    RATE,
    UP_DOWN,
    Query,
    dashboard,
    gauge,
    or_zero,
    p50_p99,
    quantile,
    rate,
    row,
    stat,
    table,
    timeseries,
    value_mapping,
)

FRESHNESS = Query(
    "max by (source) (time() - headwater_poller_last_success_timestamp_seconds)", "{{source}}"
)
PROCESSOR_LAG = Query(
    "sum by (topic) (headwater_faust_topic_partition_end_offset"
    " - headwater_faust_topic_partition_offset_commited)",
    "{{topic}}",
)
COMMIT_LATENCY = "headwater_sink_commit_latency_seconds"
CDC_TOPICS = r'{stage="normalize", topic=~"cdc\\..*"}'
#: records_out counts by the topic written to: the normalized CDC topics.
NORM_CDC_TOPICS = r'{stage="normalize", topic=~"norm\\.cdc\\..*"}'
CDC_SINK = '{sink=~".+-cdc"}'


def overview() -> JSON:
    """Freshness, end-to-end latency, throughput, rejects, lag and services, at a glance."""
    throughput = [
        rate("headwater_poller_rows_fetched_total", "source").named("poll"),
        rate("headwater_processor_records_in_total", "stage").named("process"),
        rate("headwater_sink_records_total", "sink").named("sink"),
    ]
    about_latency = "Source commit (or API fetch) to warehouse commit, per sink."
    build = gauge("headwater_build_info", "service", "instance", "version", "python")
    up = Query('max by (service) (up{job="headwater"})', "{{service}}")
    return dashboard(
        "headwater-overview",
        "Headwater overview",
        "The whole pipeline: pollers -> Kafka -> stream processor -> sinks -> warehouse.",
        [
            row(
                "Freshness and latency",
                timeseries("Freshness per source", "s", [FRESHNESS], about="Age of last success."),
                timeseries(
                    "End-to-end latency", "s", p50_p99(COMMIT_LATENCY, "sink"), about=about_latency
                ),
            ),
            row(
                "Throughput and rejects",
                timeseries("Throughput per stage", "ops", throughput, about="Records per second."),
                timeseries(
                    "Rejected records per stage",
                    "ops",
                    [rate("headwater_processor_records_rejected_total", "stage")],
                    about="Records the processor sent to dlq.<stage>.",
                ),
            ),
            row(
                "Lag",
                timeseries(
                    "Sink consumer lag",
                    "short",
                    [gauge("headwater_sink_consumer_lag_records", "sink", agg="sum")],
                ),
                timeseries(
                    "Processor lag", "short", [PROCESSOR_LAG], about="End - committed offset."
                ),
            ),
            row(
                "Services",
                stat("Services up", [up], mappings=UP_DOWN, w=12, h=6, about="Scrape succeeded."),
                table(
                    "Build info", build, hide=("Time", "Value"), w=12, h=6, about="Running builds."
                ),
            ),
        ],
    )


def pollers() -> JSON:
    """API requests, quotas, backoff and poll runs of the pollers."""
    requests = rate("headwater_poller_api_requests_total", "source", "endpoint", "outcome")
    latency = quantile(0.95, "headwater_poller_api_request_duration_seconds", "source", "endpoint")
    runs = rate("headwater_poller_runs_total", "source", "outcome")
    # The interval gauge is set at start-up, before the first run: a zero line per source.
    errors = or_zero(
        rate("headwater_poller_errors_total", "source", "error"),
        gauge("headwater_poller_interval_seconds", "source"),
    )
    age = [
        FRESHNESS.named(suffix="age"),
        gauge("headwater_poller_stale_after_seconds", "source").named(suffix="stale after"),
    ]
    return dashboard(
        "headwater-pollers",
        "Headwater pollers and API quotas",
        "The Facebook Ads, Google Ads and CleverTap pollers and the APIs they call.",
        [
            row(
                "API requests and quotas",
                timeseries("API requests by outcome", "reqps", [requests]),
                timeseries("API request latency p95", "s", [latency]),
                timeseries(
                    "Throttled responses",
                    "reqps",
                    [rate("headwater_poller_api_throttled_total", "source")],
                    w=8,
                ),
                timeseries(
                    "Time slept",
                    "percentunit",
                    [rate("headwater_poller_backoff_seconds_total", "source", "reason")],
                    w=8,
                    about="Share of time asleep: retry backoff, or pacing on the usage headers.",
                ),
                timeseries(
                    "API usage",
                    "percent",
                    [gauge("headwater_poller_api_usage_percent", "source")],
                    w=8,
                ),
            ),
            row(
                "Poll runs",
                timeseries(
                    "Rows fetched",
                    "ops",
                    [rate("headwater_poller_rows_fetched_total", "source", "stream")],
                ),
                timeseries("Account polls by outcome", "ops", [runs]),
                timeseries("Last success age vs stale after", "s", age),
                timeseries(
                    "Poll errors by class", "ops", [errors], about="Zero per source when none."
                ),
                stat(
                    "Lookback",
                    [gauge("headwater_poller_lookback_days", "source")],
                    unit="d",
                    w=12,
                    h=4,
                ),
                stat(
                    "Poll interval",
                    [gauge("headwater_poller_interval_seconds", "source")],
                    unit="s",
                    w=12,
                    h=4,
                ),
            ),
        ],
    )


def processing() -> JSON:
    """Records, latency and consumer lag of the Faust stream processor."""
    records_in = rate("headwater_processor_records_in_total", "stage", "topic")
    filtered = or_zero(
        rate("headwater_processor_records_filtered_total", "stage", "topic"), records_in
    )
    rejected = rate("headwater_processor_records_rejected_total", "stage", "topic", "reason")
    received = Query(f"sum(rate(headwater_faust_messages_received_total[{RATE}]))", "received")
    return dashboard(
        "headwater-processing",
        "Headwater stream processing",
        "The normalize and kpis stages of the stream processor, and Faust's own sensors.",
        [
            row(
                "Records by stage and input topic",
                timeseries("Records in", "ops", [records_in]),
                timeseries(
                    "Records out",
                    "ops",
                    [rate("headwater_processor_records_out_total", "stage", "topic")],
                ),
                timeseries("Records filtered", "ops", [filtered], about="Debezium tombstones."),
                timeseries("Records rejected", "ops", [rejected], about="Sent to dlq.<stage>."),
            ),
            row(
                "Latency",
                timeseries(
                    "Processing time p99",
                    "s",
                    [quantile(0.99, "headwater_processor_processing_seconds", "stage")],
                ),
                timeseries(
                    "Event lag",
                    "s",
                    p50_p99("headwater_processor_event_lag_seconds", "stage"),
                    about="Now - source time.",
                ),
            ),
            row(
                "Faust",
                timeseries("Messages received", "ops", [received]),
                timeseries(
                    "Processor lag", "short", [PROCESSOR_LAG], about="End - committed offset."
                ),
                timeseries(
                    "Rebalances",
                    "short",
                    [Query("max(headwater_faust_total_rebalances)", "rebalances")],
                ),
            ),
        ],
    )


def sinks() -> JSON:
    """Batches, rows, latency, retries and consumer lag of the warehouse sinks."""
    batches = rate("headwater_sink_batches_total", "sink")
    retries = or_zero(rate("headwater_sink_retries_total", "sink"), batches)
    lag = gauge("headwater_sink_consumer_lag_records", "sink", "topic", agg="sum")
    return dashboard(
        "headwater-sinks",
        "Headwater sinks and warehouse",
        "The sinks that write normalized topics into the warehouse, one consumer group each.",
        [
            row(
                "Throughput",
                timeseries("Batches committed", "ops", [batches], w=8),
                timeseries(
                    "Rows by action",
                    "ops",
                    [rate("headwater_sink_rows_total", "sink", "action")],
                    w=8,
                ),
                timeseries(
                    "Records by outcome",
                    "ops",
                    [rate("headwater_sink_records_total", "sink", "outcome")],
                    w=8,
                ),
            ),
            row(
                "Batches and latency",
                timeseries(
                    "Batch size p50",
                    "short",
                    [quantile(0.5, "headwater_sink_batch_size_records", "sink")],
                    w=8,
                ),
                timeseries(
                    "Flush time p99",
                    "s",
                    [quantile(0.99, "headwater_sink_flush_seconds", "sink")],
                    w=8,
                ),
                timeseries("Commit latency", "s", p50_p99(COMMIT_LATENCY, "sink"), w=8),
            ),
            row(
                "Lag and version guard",
                timeseries("Consumer lag", "short", [lag]),
                timeseries(
                    "Skipped by version",
                    "ops",
                    [rate("headwater_sink_skipped_by_version_total", "sink")],
                    w=6,
                ),
                timeseries("Batch retries", "ops", [retries], w=6, about="Zero when none."),
            ),
        ],
    )


def cdc() -> JSON:
    """Debezium connector, replication slot, and the CDC path through processor and sink."""
    connector = Query(
        "max by (connector, state) (headwater_cdc_connector_state == 1)", "{{connector}}: {{state}}"
    )
    task = Query(
        "max by (connector, task, state) (headwater_cdc_task_state == 1)",
        "{{connector}}/{{task}}: {{state}}",
    )
    reachable = [
        Query("max(headwater_cdc_connect_up)", "Kafka Connect"),
        Query("max(headwater_cdc_source_up)", "source database"),
    ]
    normalize = [
        rate(f"headwater_processor_records_{way}_total", "topic", selector=selector).named(way)
        for way, selector in (("in", CDC_TOPICS), ("out", NORM_CDC_TOPICS))
    ]
    active = value_mapping({0: ("INACTIVE", "red"), 1: ("ACTIVE", "green")})
    return dashboard(
        "headwater-cdc",
        "Headwater CDC and replication slot",
        "PostgreSQL -> Debezium -> cdc.* topics -> normalize -> CDC sink.",
        [
            row(
                "Connector",
                stat("Connector state", [connector], text_mode="name"),
                stat("Task state", [task], text_mode="name"),
                stat("Connect and source database up", reachable, mappings=UP_DOWN),
            ),
            row(
                "Replication slot",
                timeseries(
                    "Slot lag",
                    "bytes",
                    [gauge("headwater_cdc_replication_slot_lag_bytes", "slot")],
                    w=9,
                    about="Current LSN - restart_lsn.",
                ),
                timeseries(
                    "Slot confirmed lag",
                    "bytes",
                    [gauge("headwater_cdc_replication_slot_confirmed_lag_bytes", "slot")],
                    w=9,
                    about="Current LSN - confirmed_flush_lsn.",
                ),
                stat(
                    "Slot active",
                    [gauge("headwater_cdc_replication_slot_active", "slot")],
                    mappings=active,
                    w=6,
                    h=8,
                ),
            ),
            row(
                "CDC through the pipeline",
                timeseries("Normalize stage, cdc.* topics", "ops", normalize),
                timeseries(
                    "CDC sink commit latency",
                    "s",
                    p50_p99(COMMIT_LATENCY, "sink", selector=CDC_SINK),
                ),
            ),
        ],
    )


def all_dashboards() -> list[JSON]:
    """Every Headwater dashboard, in a stable order."""
    return [overview(), pollers(), processing(), sinks(), cdc()]

"""The five Headwater dashboards: the overview, and one per layer of the pipeline.

Queries use only metrics from docs/observability.md and only the ``$__rate_interval`` and
``${datasource}`` variables. Each should return series in a healthy pipeline, so counters
that move only on trouble (poll errors, sink retries, tombstones) fall back to a zero series
shaped like a sibling that always exists.
"""

from __future__ import annotations

from connectors import monitor as cdc_metrics
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
from headwater.http import BUILD_INFO, series
from producers import metrics as poller_metrics
from sinks import metrics as sink_metrics
from stream_processors import faust_metrics
from stream_processors import metrics as processor_metrics

FRESHNESS = Query(f"max by (source) (time() - {series(poller_metrics.LAST_SUCCESS)})", "{{source}}")
PROCESSOR_LAG = Query(
    f"sum by (topic) ({faust_metrics.END_OFFSET} - {faust_metrics.COMMITTED_OFFSET})",
    "{{topic}}",
)
COMMIT_LATENCY = series(sink_metrics.COMMIT_LATENCY)
CDC_TOPICS = r'{stage="normalize", topic=~"cdc\\..*"}'
#: records_out counts by the topic written to: the normalized CDC topics.
NORM_CDC_TOPICS = r'{stage="normalize", topic=~"norm\\.cdc\\..*"}'
CDC_SINK = '{sink=~".+-cdc"}'


def overview() -> JSON:
    """Freshness, end-to-end latency, throughput, rejects, lag and services, at a glance."""
    throughput = [
        rate(series(poller_metrics.ROWS_FETCHED), "source").named("poll"),
        rate(series(processor_metrics.RECORDS_IN), "stage").named("process"),
        rate(series(sink_metrics.RECORDS), "sink").named("sink"),
    ]
    about_latency = "Source commit (or API fetch) to warehouse commit, per sink."
    build = gauge(series(BUILD_INFO), "service", "instance", "version", "python")
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
                    [rate(series(processor_metrics.RECORDS_REJECTED), "stage")],
                    about="Records the processor sent to dlq.<stage>.",
                ),
            ),
            row(
                "Lag",
                timeseries(
                    "Sink consumer lag",
                    "short",
                    [gauge(series(sink_metrics.CONSUMER_LAG), "sink", agg="sum")],
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
    requests = rate(series(poller_metrics.API_REQUESTS), "source", "endpoint", "outcome")
    latency = quantile(0.95, series(poller_metrics.API_REQUEST_SECONDS), "source", "endpoint")
    runs = rate(series(poller_metrics.POLL_RUNS), "source", "outcome")
    # The interval gauge is set at start-up, before the first run: a zero line per source.
    errors = or_zero(
        rate(series(poller_metrics.ERRORS), "source", "error"),
        gauge(series(poller_metrics.INTERVAL), "source"),
    )
    age = [
        FRESHNESS.named(suffix="age"),
        gauge(series(poller_metrics.STALE_AFTER), "source").named(suffix="stale after"),
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
                    [rate(series(poller_metrics.API_THROTTLED), "source")],
                    w=8,
                ),
                timeseries(
                    "Time slept",
                    "percentunit",
                    [rate(series(poller_metrics.BACKOFF_SECONDS), "source", "reason")],
                    w=8,
                    about="Share of time asleep: retry backoff, or pacing on the usage headers.",
                ),
                timeseries(
                    "API usage",
                    "percent",
                    [gauge(series(poller_metrics.API_USAGE), "source")],
                    w=8,
                ),
            ),
            row(
                "Poll runs",
                timeseries(
                    "Rows fetched",
                    "ops",
                    [rate(series(poller_metrics.ROWS_FETCHED), "source", "stream")],
                ),
                timeseries("Account polls by outcome", "ops", [runs]),
                timeseries("Last success age vs stale after", "s", age),
                timeseries(
                    "Poll errors by class", "ops", [errors], about="Zero per source when none."
                ),
                stat(
                    "Lookback",
                    [gauge(series(poller_metrics.LOOKBACK_DAYS), "source")],
                    unit="d",
                    w=12,
                    h=4,
                ),
                stat(
                    "Poll interval",
                    [gauge(series(poller_metrics.INTERVAL), "source")],
                    unit="s",
                    w=12,
                    h=4,
                ),
            ),
        ],
    )


def processing() -> JSON:
    """Records, latency and consumer lag of the Faust stream processor."""
    records_in = rate(series(processor_metrics.RECORDS_IN), "stage", "topic")
    filtered = or_zero(
        rate(series(processor_metrics.RECORDS_FILTERED), "stage", "topic"), records_in
    )
    rejected = rate(series(processor_metrics.RECORDS_REJECTED), "stage", "topic", "reason")
    received = Query(f"sum(rate({faust_metrics.MESSAGES_RECEIVED}[{RATE}]))", "received")
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
                    [rate(series(processor_metrics.RECORDS_OUT), "stage", "topic")],
                ),
                timeseries("Records filtered", "ops", [filtered], about="Debezium tombstones."),
                timeseries("Records rejected", "ops", [rejected], about="Sent to dlq.<stage>."),
            ),
            row(
                "Latency",
                timeseries(
                    "Processing time p99",
                    "s",
                    [quantile(0.99, series(processor_metrics.PROCESSING_SECONDS), "stage")],
                ),
                timeseries(
                    "Event lag",
                    "s",
                    p50_p99(series(processor_metrics.EVENT_LAG_SECONDS), "stage"),
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
                    [Query(f"max({faust_metrics.REBALANCES})", "rebalances")],
                ),
            ),
        ],
    )


def sinks() -> JSON:
    """Batches, rows, latency, retries and consumer lag of the warehouse sinks."""
    batches = rate(series(sink_metrics.BATCHES), "sink")
    retries = or_zero(rate(series(sink_metrics.RETRIES), "sink"), batches)
    lag = gauge(series(sink_metrics.CONSUMER_LAG), "sink", "topic", agg="sum")
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
                    [rate(series(sink_metrics.ROWS), "sink", "action")],
                    w=8,
                ),
                timeseries(
                    "Records by outcome",
                    "ops",
                    [rate(series(sink_metrics.RECORDS), "sink", "outcome")],
                    w=8,
                ),
            ),
            row(
                "Batches and latency",
                timeseries(
                    "Batch size p50",
                    "short",
                    [quantile(0.5, series(sink_metrics.BATCH_SIZE), "sink")],
                    w=8,
                ),
                timeseries(
                    "Flush time p99",
                    "s",
                    [quantile(0.99, series(sink_metrics.FLUSH_SECONDS), "sink")],
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
                    [rate(series(sink_metrics.SKIPPED_BY_VERSION), "sink")],
                    w=6,
                ),
                timeseries("Batch retries", "ops", [retries], w=6, about="Zero when none."),
            ),
        ],
    )


def cdc() -> JSON:
    """Debezium connector, replication slot, and the CDC path through processor and sink."""
    connector = Query(
        f"max by (connector, state) ({cdc_metrics.CONNECTOR_STATE} == 1)",
        "{{connector}}: {{state}}",
    )
    task = Query(
        f"max by (connector, task, state) ({cdc_metrics.TASK_STATE} == 1)",
        "{{connector}}/{{task}}: {{state}}",
    )
    reachable = [
        Query(f"max({cdc_metrics.CONNECT_UP})", "Kafka Connect"),
        Query(f"max({cdc_metrics.SOURCE_UP})", "source database"),
    ]
    normalize = [
        rate(series(counter), "topic", selector=selector).named(way)
        for way, counter, selector in (
            ("in", processor_metrics.RECORDS_IN, CDC_TOPICS),
            ("out", processor_metrics.RECORDS_OUT, NORM_CDC_TOPICS),
        )
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
                    [gauge(cdc_metrics.SLOT_LAG, "slot")],
                    w=9,
                    about="Current LSN - restart_lsn.",
                ),
                timeseries(
                    "Slot confirmed lag",
                    "bytes",
                    [gauge(cdc_metrics.SLOT_CONFIRMED_LAG, "slot")],
                    w=9,
                    about="Current LSN - confirmed_flush_lsn.",
                ),
                stat(
                    "Slot active",
                    [gauge(cdc_metrics.SLOT_ACTIVE, "slot")],
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

"""Prometheus metrics of the pollers (the API clients add their own request metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ROWS_FETCHED = Counter(
    "headwater_poller_rows_fetched", "API records published to raw topics", ["source", "stream"]
)
POLL_RUNS = Counter("headwater_poller_runs", "Poll runs per account", ["source", "outcome"])
POLL_SECONDS = Histogram(
    "headwater_poller_run_seconds",
    "Duration of one poll run over all accounts",
    ["source"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
LAST_SUCCESS = Gauge(
    "headwater_poller_last_success_timestamp_seconds",
    "When the source last completed a poll run without errors (freshness)",
    ["source"],
)
LOOKBACK_DAYS = Gauge("headwater_poller_lookback_days", "Days re-pulled on every run", ["source"])
ERRORS = Counter(
    "headwater_poller_errors", "Accounts whose poll failed, by error class", ["source", "error"]
)

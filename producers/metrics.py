"""Prometheus metrics of the pollers and of their API requests (see docs/observability.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

from producers.base import AuthenticationFailed, InvalidRequest, QuotaExhausted, RateLimited

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
INTERVAL = Gauge(
    "headwater_poller_interval_seconds", "Seconds between poll runs (the schedule)", ["source"]
)
STALE_AFTER = Gauge(
    "headwater_poller_stale_after_seconds",
    "Age of the last successful run beyond which the source counts as stale",
    ["source"],
)

API_REQUESTS = Counter(
    "headwater_poller_api_requests",
    "HTTP requests to a platform API, by endpoint and outcome",
    ["source", "endpoint", "outcome"],
)
API_REQUEST_SECONDS = Histogram(
    "headwater_poller_api_request_duration_seconds",
    "Latency of one API request (the whole response read)",
    ["source", "endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
API_THROTTLED = Counter(
    "headwater_poller_api_throttled",
    "Responses that throttled us (rate limit or quota)",
    ["source"],
)
BACKOFF_SECONDS = Counter(
    "headwater_poller_backoff_seconds",
    "Seconds slept before a request: retry backoff after an error, or pacing on usage",
    ["source", "reason"],
)
API_USAGE = Gauge(
    "headwater_poller_api_usage_percent",
    "Platform usage the API reported in its usage headers",
    ["source"],
)

#: The outcome label of a request that raised, by the error's class (first match wins).
_OUTCOMES: tuple[tuple[type[BaseException], str], ...] = (
    (RateLimited, "throttled"),
    (QuotaExhausted, "throttled"),
    (AuthenticationFailed, "auth_failed"),
    (InvalidRequest, "invalid_request"),
)
OUTCOMES = ("ok", "throttled", "auth_failed", "invalid_request", "unavailable")


def outcome_of(error: BaseException) -> str:
    """The low-cardinality outcome of a failed request."""
    for kind, outcome in _OUTCOMES:
        if isinstance(error, kind):
            return outcome
    return "unavailable"


@contextmanager
def api_request(source: str, endpoint: str) -> Iterator[None]:
    """Count and time one API request; the outcome comes from the error it raises, if any."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except BaseException as error:
        outcome = outcome_of(error)
        raise
    finally:
        API_REQUEST_SECONDS.labels(source, endpoint).observe(time.perf_counter() - started)
        API_REQUESTS.labels(source, endpoint, outcome).inc()
        if outcome == "throttled":
            API_THROTTLED.labels(source).inc()


def slept(source: str, reason: str, seconds: float) -> None:
    """Record time spent waiting before a request (``retry`` or ``pacing``)."""
    BACKOFF_SECONDS.labels(source, reason).inc(max(0.0, seconds))


def declare_source(source: str, endpoints: tuple[str, ...]) -> None:
    """Export a source's request and backoff series at zero before its first request.

    Dashboards and alerts then see the series from the start (a counter that appears on
    its first increment hides the increment from ``rate``).
    """
    for endpoint in endpoints:
        API_REQUEST_SECONDS.labels(source, endpoint)
        for outcome in OUTCOMES:
            API_REQUESTS.labels(source, endpoint, outcome)
    API_THROTTLED.labels(source)
    for reason in ("retry", "pacing"):
        BACKOFF_SECONDS.labels(source, reason)

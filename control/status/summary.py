"""What ``headwater status`` shows, summarised from the scrapes: a pure function of them."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from connectors import monitor as cdc_metrics
from control.status.observe import Observation
from control.status.scrapes import Scrapes, quantiles
from headwater import http
from headwater.topology import port_offsets
from producers import metrics as poller_metrics
from sinks import metrics as sink_metrics
from stream_processors import faust_metrics
from stream_processors import metrics as processor_metrics

STAGE_ORDER = {"normalize": 0, "kpis": 1}  # the order records flow through them

BUILD_INFO = http.series(http.BUILD_INFO)
ROWS_FETCHED = http.series(poller_metrics.ROWS_FETCHED)
LAST_SUCCESS = http.series(poller_metrics.LAST_SUCCESS)
STALE_AFTER = http.series(poller_metrics.STALE_AFTER)
USAGE = http.series(poller_metrics.API_USAGE)
POLL_ERRORS = http.series(poller_metrics.ERRORS)
THROTTLED = http.series(poller_metrics.API_THROTTLED)
API_REQUESTS = http.series(poller_metrics.API_REQUESTS)
RECORDS_IN = http.series(processor_metrics.RECORDS_IN)
RECORDS_OUT = http.series(processor_metrics.RECORDS_OUT)
REJECTED = http.series(processor_metrics.RECORDS_REJECTED)
FILTERED = http.series(processor_metrics.RECORDS_FILTERED)
EVENT_LAG = http.series(processor_metrics.EVENT_LAG_SECONDS)
FAUST_END = faust_metrics.END_OFFSET
FAUST_COMMITTED = faust_metrics.COMMITTED_OFFSET  # sic: Faust's spelling
SINK_RECORDS = http.series(sink_metrics.RECORDS)
SINK_LAG = http.series(sink_metrics.CONSUMER_LAG)
COMMIT_LATENCY = http.series(sink_metrics.COMMIT_LATENCY)
SINK_RETRIES = http.series(sink_metrics.RETRIES)
CONNECTOR_STATE = cdc_metrics.CONNECTOR_STATE
TASK_STATE = cdc_metrics.TASK_STATE
SLOT_LAG = cdc_metrics.SLOT_LAG
SLOT_CONFIRMED_LAG = cdc_metrics.SLOT_CONFIRMED_LAG
SLOT_ACTIVE = cdc_metrics.SLOT_ACTIVE
CONNECT_UP = cdc_metrics.CONNECT_UP
SOURCE_UP = cdc_metrics.SOURCE_UP


@dataclass(frozen=True)
class ServiceRow:
    """A service: scraped or not, ready or which checks fail, its build."""

    service: str
    address: str
    up: bool
    ready: bool | None  # None: /readyz did not answer
    failing_checks: list[str]
    version: str | None


@dataclass(frozen=True)
class SourceRow:
    """A polled API source."""

    source: str
    rows_per_s: float | None
    last_success_age_s: float | None  # None: never succeeded since start
    stale_after_s: float | None
    stale: bool
    usage_percent: float | None
    errors: float | None  # in the window
    throttles: float | None  # in the window
    requests: dict[str, float]  # outcome -> requests since start


@dataclass(frozen=True)
class StageRow:
    """A stream processor stage."""

    stage: str
    in_per_s: float | None
    out_per_s: float | None
    rejected: float | None  # in the window
    rejected_total: float
    filtered: float | None  # in the window
    filtered_total: float
    event_lag_p50_s: float | None
    event_lag_since_start: bool


@dataclass(frozen=True)
class SinkRow:
    """A sink (its consumer group)."""

    sink: str
    records_per_s: float | None
    lag_records: float | None
    commit_p50_s: float | None
    commit_p99_s: float | None
    commit_since_start: bool
    rejected: float | None  # in the window
    rejected_total: float
    retries: float | None  # in the window
    retries_total: float


@dataclass(frozen=True)
class SlotRow:
    """A replication slot."""

    slot: str
    lag_bytes: float | None
    confirmed_lag_bytes: float | None
    active: bool | None


@dataclass(frozen=True)
class CdcSummary:
    """The CDC monitor's view of Kafka Connect and the source database."""

    connect_up: bool | None
    source_up: bool | None
    connectors: dict[str, str]  # connector -> state
    tasks: dict[str, dict[str, str]]  # connector -> task -> state
    slots: list[SlotRow]


@dataclass(frozen=True)
class Summary:
    """Everything ``headwater status`` shows."""

    observed_at: float  # unix time
    interval_s: float
    services: list[ServiceRow]
    sources: list[SourceRow] = field(default_factory=list)
    stages: list[StageRow] = field(default_factory=list)
    faust_lag_records: float | None = None
    sinks: list[SinkRow] = field(default_factory=list)
    cdc: CdcSummary | None = None

    @property
    def ok(self) -> bool:
        """Every service is up and ready."""
        return bool(self.services) and all(s.up and s.ready for s in self.services)

    def as_json(self) -> str:
        """The summary as indented JSON, with ``ok``."""
        return json.dumps({"ok": self.ok, **asdict(self)}, indent=2)


def _service_order(row: ServiceRow) -> tuple[int, str]:
    offsets = port_offsets()
    return offsets.get(row.service, len(offsets)), row.service


def _service_row(seen: Observation) -> ServiceRow:
    versions = [
        dict(labels).get("version") for name, labels, _ in seen.after or [] if name == BUILD_INFO
    ]
    readiness = seen.readiness
    return ServiceRow(
        service=seen.target.service,
        address=seen.target.address,
        up=seen.after is not None,
        ready=None if readiness is None else readiness.ready,
        failing_checks=[] if readiness is None else readiness.failing,
        version=next((v for v in versions if v), None),
    )


def _one(values: dict[str, float], default: float | None = None) -> float | None:
    return values.get("", default)


def _sources(scrapes: Scrapes, now: float) -> list[SourceRow]:
    zero = 0.0 if scrapes.has_window else None
    rows = []
    for source in scrapes.label_values("headwater_poller_", "source"):
        last = _one(scrapes.highest(LAST_SUCCESS, source=source))
        age = None if not last else max(0.0, now - last)
        stale_after = _one(scrapes.highest(STALE_AFTER, source=source))
        rows.append(
            SourceRow(
                source=source,
                rows_per_s=_one(scrapes.rate(ROWS_FETCHED, source=source), zero),
                last_success_age_s=age,
                stale_after_s=stale_after,
                stale=age is not None and stale_after is not None and age > stale_after,
                usage_percent=_one(scrapes.highest(USAGE, source=source)),
                errors=_one(scrapes.increase(POLL_ERRORS, source=source), zero),
                throttles=_one(scrapes.increase(THROTTLED, source=source), zero),
                requests=scrapes.latest(API_REQUESTS, "outcome", source=source),
            )
        )
    return rows


def _stages(scrapes: Scrapes) -> list[StageRow]:
    zero = 0.0 if scrapes.has_window else None
    rows = []
    stages = scrapes.label_values("headwater_processor_", "stage")
    for stage in sorted(stages, key=lambda s: (STAGE_ORDER.get(s, len(STAGE_ORDER)), s)):
        (p50,), since_start = quantiles(scrapes, EVENT_LAG, [0.5], stage=stage)
        rows.append(
            StageRow(
                stage=stage,
                in_per_s=_one(scrapes.rate(RECORDS_IN, stage=stage), zero),
                out_per_s=_one(scrapes.rate(RECORDS_OUT, stage=stage), zero),
                rejected=_one(scrapes.increase(REJECTED, stage=stage), zero),
                rejected_total=_one(scrapes.latest(REJECTED, stage=stage)) or 0.0,
                filtered=_one(scrapes.increase(FILTERED, stage=stage), zero),
                filtered_total=_one(scrapes.latest(FILTERED, stage=stage)) or 0.0,
                event_lag_p50_s=p50,
                event_lag_since_start=since_start,
            )
        )
    return rows


def _faust_lag(scrapes: Scrapes) -> float | None:
    committed = scrapes.series(FAUST_COMMITTED)
    lags = [
        max(0.0, end - committed[key])
        for key, end in scrapes.series(FAUST_END).items()
        if key in committed
    ]
    return sum(lags) if lags else None


def _sinks(scrapes: Scrapes) -> list[SinkRow]:
    zero = 0.0 if scrapes.has_window else None
    rows = []
    for sink in scrapes.label_values("headwater_sink_", "sink"):
        (p50, p99), since_start = quantiles(scrapes, COMMIT_LATENCY, [0.5, 0.99], sink=sink)
        rows.append(
            SinkRow(
                sink=sink,
                records_per_s=_one(scrapes.rate(SINK_RECORDS, sink=sink), zero),
                lag_records=_one(scrapes.latest(SINK_LAG, sink=sink)),
                commit_p50_s=p50,
                commit_p99_s=p99,
                commit_since_start=since_start,
                rejected=_one(scrapes.increase(SINK_RECORDS, sink=sink, outcome="rejected"), zero),
                rejected_total=_one(scrapes.latest(SINK_RECORDS, sink=sink, outcome="rejected"))
                or 0.0,
                retries=_one(scrapes.increase(SINK_RETRIES, sink=sink), zero),
                retries_total=_one(scrapes.latest(SINK_RETRIES, sink=sink)) or 0.0,
            )
        )
    return rows


def _current_states(scrapes: Scrapes, name: str, *keys: str) -> dict[tuple[str, ...], str]:
    """The state whose state-set gauge is 1, per value of ``keys``."""
    states = {}
    for (_, labels), value in scrapes.series(name).items():
        found = dict(labels)
        if value == 1 and "state" in found:
            states[tuple(found.get(key, "") for key in keys)] = found["state"]
    return states


def _cdc(scrapes: Scrapes) -> CdcSummary | None:
    if not scrapes.any("headwater_cdc_"):
        return None

    def flag(name: str, **labels: str) -> bool | None:
        value = _one(scrapes.highest(name, **labels))
        return None if value is None else value >= 1

    tasks: dict[str, dict[str, str]] = defaultdict(dict)
    for (connector, task), state in sorted(
        _current_states(scrapes, TASK_STATE, "connector", "task").items()
    ):
        tasks[connector][task] = state
    return CdcSummary(
        connect_up=flag(CONNECT_UP),
        source_up=flag(SOURCE_UP),
        connectors={
            connector: state
            for (connector,), state in sorted(
                _current_states(scrapes, CONNECTOR_STATE, "connector").items()
            )
        },
        tasks=dict(tasks),
        slots=[
            SlotRow(
                slot=slot,
                lag_bytes=_one(scrapes.latest(SLOT_LAG, slot=slot)),
                confirmed_lag_bytes=_one(scrapes.latest(SLOT_CONFIRMED_LAG, slot=slot)),
                active=flag(SLOT_ACTIVE, slot=slot),
            )
            for slot in scrapes.label_values("headwater_cdc_replication_slot", "slot")
        ],
    )


def summarize(observations: Sequence[Observation], now: float, interval_s: float) -> Summary:
    """The summary of two scrapes of every service; ``now`` (unix time) ages the freshness."""
    scrapes = Scrapes(observations)
    return Summary(
        observed_at=now,
        interval_s=interval_s,
        services=sorted((_service_row(seen) for seen in observations), key=_service_order),
        sources=_sources(scrapes, now),
        stages=_stages(scrapes),
        faust_lag_records=_faust_lag(scrapes),
        sinks=_sinks(scrapes),
        cdc=_cdc(scrapes),
    )

"""``headwater status``: the maths and rendering from canned scrapes, and the command end to end."""

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from control.cli.status import status
from control.status import (
    Observation,
    Readiness,
    Summary,
    Target,
    age,
    bucket_quantile,
    registered_targets,
    render,
    size,
    summarize,
)
from control.status.scrape import samples_from_text
from headwater.http import HealthServer

NOW = 1_700_000_000.0


def _seen(
    service: str,
    before: str | None,
    after: str | None,
    window_s: float = 2.0,
    readiness: Readiness | None = None,
    port: int = 9400,
) -> Observation:
    return Observation(
        Target(service, f"127.0.0.1:{port}"),
        None if before is None else samples_from_text(before),
        None if after is None else samples_from_text(after),
        window_s,
        Readiness(True, []) if readiness is None and after is not None else readiness,
    )


def _histogram(name: str, labels: str, buckets: dict[str, float]) -> str:
    lines = [f"# TYPE {name} histogram"]
    lines += [f'{name}_bucket{{{labels},le="{le}"}} {n}' for le, n in buckets.items()]
    lines.append(f"{name}_count{{{labels}}} {buckets['+Inf']}")
    lines.append(f"{name}_sum{{{labels}}} 0")
    return "\n".join(lines) + "\n"


PROCESSOR_BEFORE = (
    """# TYPE headwater_build_info gauge
headwater_build_info{python="3.11.9",version="1.4.0"} 1
# TYPE headwater_processor_records_in counter
headwater_processor_records_in_total{stage="normalize",topic="raw.cdc.orders"} 1000
headwater_processor_records_in_total{stage="normalize",topic="raw.clevertap.events"} 500
headwater_processor_records_in_total{stage="kpis",topic="normalized.ads"} 300
# TYPE headwater_processor_records_out counter
headwater_processor_records_out_total{stage="normalize",topic="normalized.orders"} 1490
headwater_processor_records_out_total{stage="kpis",topic="kpis.campaign"} 300
# TYPE headwater_processor_records_rejected counter
headwater_processor_records_rejected_total{reason="schema",stage="normalize",topic="raw.cdc"} 10
# TYPE headwater_processor_records_filtered counter
headwater_processor_records_filtered_total{stage="normalize",topic="raw.cdc.orders"} 4
# TYPE headwater_faust_topic_partition_end_offset gauge
headwater_faust_topic_partition_end_offset{partition="0",topic="raw.cdc.orders"} 1000
headwater_faust_topic_partition_end_offset{partition="1",topic="raw.cdc.orders"} 800
# TYPE headwater_faust_topic_partition_offset_commited gauge
headwater_faust_topic_partition_offset_commited{partition="0",topic="raw.cdc.orders"} 990
headwater_faust_topic_partition_offset_commited{partition="1",topic="raw.cdc.orders"} 790
"""
    + _histogram(
        "headwater_processor_event_lag_seconds",
        'stage="normalize"',
        {"0.5": 0, "1.0": 100, "2.0": 100, "+Inf": 100},
    )
    + _histogram(
        "headwater_processor_event_lag_seconds",
        'stage="kpis"',
        {"0.5": 0, "1.0": 0, "2.0": 50, "+Inf": 50},
    )
)

# Two seconds later: normalize took 200 + 100 records; kpis' counter restarted at 40.
PROCESSOR_AFTER = (
    """# TYPE headwater_build_info gauge
headwater_build_info{python="3.11.9",version="1.4.0"} 1
# TYPE headwater_processor_records_in counter
headwater_processor_records_in_total{stage="normalize",topic="raw.cdc.orders"} 1200
headwater_processor_records_in_total{stage="normalize",topic="raw.clevertap.events"} 600
headwater_processor_records_in_total{stage="kpis",topic="normalized.ads"} 40
# TYPE headwater_processor_records_out counter
headwater_processor_records_out_total{stage="normalize",topic="normalized.orders"} 1780
headwater_processor_records_out_total{stage="kpis",topic="kpis.campaign"} 40
# TYPE headwater_processor_records_rejected counter
headwater_processor_records_rejected_total{reason="schema",stage="normalize",topic="raw.cdc"} 16
headwater_processor_records_rejected_total{reason="decode",stage="normalize",topic="raw.cdc"} 2
# TYPE headwater_processor_records_filtered counter
headwater_processor_records_filtered_total{stage="normalize",topic="raw.cdc.orders"} 4
# TYPE headwater_faust_topic_partition_end_offset gauge
headwater_faust_topic_partition_end_offset{partition="0",topic="raw.cdc.orders"} 1300
headwater_faust_topic_partition_end_offset{partition="1",topic="raw.cdc.orders"} 800
# TYPE headwater_faust_topic_partition_offset_commited gauge
headwater_faust_topic_partition_offset_commited{partition="0",topic="raw.cdc.orders"} 1200
headwater_faust_topic_partition_offset_commited{partition="1",topic="raw.cdc.orders"} 790
"""
    + _histogram(
        "headwater_processor_event_lag_seconds",
        'stage="normalize"',
        {"0.5": 200, "1.0": 300, "2.0": 400, "+Inf": 400},
    )
    + _histogram(
        "headwater_processor_event_lag_seconds",
        'stage="kpis"',
        {"0.5": 0, "1.0": 0, "2.0": 50, "+Inf": 50},
    )
)

SINK_BEFORE = """# TYPE headwater_sink_records counter
headwater_sink_records_total{outcome="applied",sink="headwater-sink-cdc"} 5000
headwater_sink_records_total{outcome="rejected",sink="headwater-sink-cdc"} 3
# TYPE headwater_sink_retries counter
headwater_sink_retries_total{sink="headwater-sink-cdc"} 1
""" + _histogram(
    "headwater_sink_commit_latency_seconds",
    'sink="headwater-sink-cdc"',
    {"0.1": 10, "0.5": 10, "1.0": 10, "+Inf": 10},
)

SINK_AFTER = """# TYPE headwater_sink_records counter
headwater_sink_records_total{outcome="applied",sink="headwater-sink-cdc"} 5396
headwater_sink_records_total{outcome="rejected",sink="headwater-sink-cdc"} 7
# TYPE headwater_sink_retries counter
headwater_sink_retries_total{sink="headwater-sink-cdc"} 1
# TYPE headwater_sink_consumer_lag_records gauge
headwater_sink_consumer_lag_records{partition="0",sink="headwater-sink-cdc",topic="t"} 25
headwater_sink_consumer_lag_records{partition="1",sink="headwater-sink-cdc",topic="t"} 15
""" + _histogram(
    "headwater_sink_commit_latency_seconds",
    'sink="headwater-sink-cdc"',
    {"0.1": 10, "0.5": 60, "1.0": 110, "+Inf": 110},
)

POLLER = """# TYPE headwater_poller_rows_fetched counter
headwater_poller_rows_fetched_total{{source="{source}",stream="insights"}} {rows}
# TYPE headwater_poller_last_success_timestamp_seconds gauge
headwater_poller_last_success_timestamp_seconds{{source="{source}"}} {last}
# TYPE headwater_poller_stale_after_seconds gauge
headwater_poller_stale_after_seconds{{source="{source}"}} 2700
# TYPE headwater_poller_api_usage_percent gauge
headwater_poller_api_usage_percent{{source="{source}"}} 37
# TYPE headwater_poller_errors counter
headwater_poller_errors_total{{error="Throttled",source="{source}"}} {errors}
# TYPE headwater_poller_api_throttled counter
headwater_poller_api_throttled_total{{source="{source}"}} {errors}
# TYPE headwater_poller_api_requests counter
headwater_poller_api_requests_total{{endpoint="insights",outcome="ok",source="{source}"}} 1204
headwater_poller_api_requests_total{{endpoint="insights",outcome="throttled",source="{source}"}} 3
"""

CDC = """# TYPE headwater_cdc_connector_state gauge
headwater_cdc_connector_state{connector="headwater-postgres",state="RUNNING"} 1
headwater_cdc_connector_state{connector="headwater-postgres",state="FAILED"} 0
# TYPE headwater_cdc_task_state gauge
headwater_cdc_task_state{connector="headwater-postgres",state="RUNNING",task="0"} 0
headwater_cdc_task_state{connector="headwater-postgres",state="FAILED",task="0"} 1
# TYPE headwater_cdc_replication_slot_lag_bytes gauge
headwater_cdc_replication_slot_lag_bytes{slot="headwater_cdc"} 12897484.8
# TYPE headwater_cdc_replication_slot_confirmed_lag_bytes gauge
headwater_cdc_replication_slot_confirmed_lag_bytes{slot="headwater_cdc"} 1024
# TYPE headwater_cdc_replication_slot_active gauge
headwater_cdc_replication_slot_active{slot="headwater_cdc"} 1
# TYPE headwater_cdc_connect_up gauge
headwater_cdc_connect_up 1
# TYPE headwater_cdc_source_up gauge
headwater_cdc_source_up 0
"""


def _pipeline() -> Summary:
    fresh = POLLER.format(source="facebook_ads", rows=100, last=NOW - 190, errors=0)
    stale = POLLER.format(source="google_ads", rows=50, last=NOW - 3720, errors=2)
    return summarize(
        [
            _seen("processor", PROCESSOR_BEFORE, PROCESSOR_AFTER),
            _seen("sink-cdc", SINK_BEFORE, SINK_AFTER, port=9401),
            _seen("sink-app-events", None, None, port=9403),
            _seen("poll-facebook_ads", fresh, fresh.replace(" 100\n", " 125\n"), port=9405),
            _seen(
                "poll-google_ads",
                stale,
                stale.replace("} 2\n", "} 5\n"),
                readiness=Readiness(False, ["kafka", "warehouse"]),
                port=9406,
            ),
            _seen("cdc-monitor", CDC, CDC, port=9408),
        ],
        NOW,
        2.0,
    )


def test_bucket_quantile_interpolates_like_promql() -> None:
    buckets = {"0.5": 200.0, "1.0": 300.0, "2.0": 400.0, "+Inf": 400.0}
    assert bucket_quantile(0.5, buckets) == pytest.approx(0.5)
    assert bucket_quantile(0.25, buckets) == pytest.approx(0.25)
    assert bucket_quantile(0.625, buckets) == pytest.approx(0.75)
    # Above the highest finite bound all that is known is that bound.
    assert bucket_quantile(0.99, {"1.0": 1.0, "+Inf": 10.0}) == 1.0
    assert bucket_quantile(0.5, {"1.0": 0.0, "+Inf": 0.0}) is None
    assert bucket_quantile(0.5, {}) is None


def test_processor_rates_rejects_and_event_lag() -> None:
    summary = _pipeline()
    normalize, kpis = (
        next(stage for stage in summary.stages if stage.stage == name)
        for name in ("normalize", "kpis")
    )
    assert normalize.in_per_s == pytest.approx(150.0)  # (200 + 100) / 2 s
    assert normalize.out_per_s == pytest.approx(145.0)
    assert (normalize.rejected, normalize.rejected_total) == (8.0, 18.0)  # a new reason counts
    assert (normalize.filtered, normalize.filtered_total) == (0.0, 4.0)
    # 300 new observations between the scrapes: 200 at <= 0.5 s, 100 in (0.5, 1] s.
    assert normalize.event_lag_p50_s == pytest.approx(0.375)
    assert not normalize.event_lag_since_start
    assert kpis.in_per_s == pytest.approx(20.0)  # the counter restarted: 40 since then
    # Nothing observed in the window: the percentile is over everything since start.
    assert kpis.event_lag_p50_s == pytest.approx(1.5)
    assert kpis.event_lag_since_start
    assert summary.faust_lag_records == 110.0  # (1300 - 1200) + (800 - 790)


def test_sink_rates_lag_and_commit_latency() -> None:
    (sink,) = _pipeline().sinks
    assert sink.sink == "headwater-sink-cdc"
    assert sink.records_per_s == pytest.approx(200.0)  # (396 applied + 4 rejected) / 2 s
    assert sink.lag_records == 40.0
    assert (sink.rejected, sink.rejected_total) == (4.0, 7.0)
    assert (sink.retries, sink.retries_total) == (0.0, 1.0)
    assert sink.commit_p50_s == pytest.approx(0.5)  # 100 new: 50 in (0.1, 0.5], 50 in (0.5, 1]
    assert sink.commit_p99_s == pytest.approx(0.99)
    assert not sink.commit_since_start


def test_pollers_freshness_and_stale() -> None:
    fresh, stale = _pipeline().sources
    assert fresh.source == "facebook_ads"
    assert fresh.rows_per_s == pytest.approx(12.5)
    assert (fresh.last_success_age_s, fresh.stale_after_s, fresh.stale) == (190.0, 2700.0, False)
    assert fresh.usage_percent == 37.0
    assert fresh.requests == {"ok": 1204.0, "throttled": 3.0}
    assert stale.source == "google_ads"
    assert stale.stale
    assert (stale.errors, stale.throttles) == (3.0, 3.0)


def test_poller_that_never_succeeded_is_not_called_stale() -> None:
    text = POLLER.format(source="clevertap", rows=0, last=0, errors=0)
    (source,) = summarize([_seen("poll-clevertap", text, text)], NOW, 2.0).sources
    assert source.last_success_age_s is None
    assert not source.stale


def test_cdc_states_and_slots() -> None:
    cdc = _pipeline().cdc
    assert cdc is not None
    assert (cdc.connect_up, cdc.source_up) == (True, False)
    assert cdc.connectors == {"headwater-postgres": "RUNNING"}
    assert cdc.tasks == {"headwater-postgres": {"0": "FAILED"}}
    (slot,) = cdc.slots
    assert (slot.lag_bytes, slot.confirmed_lag_bytes, slot.active) == (12897484.8, 1024.0, True)


def test_down_and_unready_services() -> None:
    summary = _pipeline()
    rows = {row.service: row for row in summary.services}
    assert not rows["sink-app-events"].up
    assert rows["poll-google_ads"].failing_checks == ["kafka", "warehouse"]
    assert rows["processor"].version == "1.4.0"
    assert not summary.ok
    # Known services in port order, then the others.
    assert [row.service for row in summary.services][:2] == ["processor", "sink-cdc"]


def test_render_fits_one_screen() -> None:
    lines = render(_pipeline())
    text = "\n".join(lines)
    print(text)
    assert len(lines) <= 40
    assert all(len(line) <= 100 for line in lines)
    assert "NOT OK" in lines[0]
    assert "NOT READY: kafka, warehouse" in text
    assert "1h02m / 45m STALE" in text
    assert "3m10s / 45m" in text
    facebook = next(line for line in lines if "facebook_ads" in line and "12.5" in line)
    assert "ok 1,204 · throttled 3" in facebook
    normalize = next(line for line in lines if line.startswith("  normalize"))
    assert normalize.split()[:5] == ["normalize", "150", "145", "18", "(+8)"]
    assert "375ms" in normalize
    kpis = next(line for line in lines if line.startswith("  kpis"))
    assert "1.50s*" in kpis
    assert "Faust consumer lag 110 records" in text
    sink = next(line for line in lines if line.startswith("  headwater-sink-cdc"))
    assert sink.split()[:5] == ["headwater-sink-cdc", "200", "40", "500ms", "990ms"]
    assert "7 (+4)" in sink
    assert any(line.startswith("  sink-app-events") and "DOWN" in line for line in lines)
    assert "Kafka Connect up · source database DOWN" in text
    assert "RUNNING     tasks 0 FAILED" in text
    assert "lag 12.3 MiB · confirmed lag 1.0 KiB · active" in text
    assert lines[-1].startswith("* nothing new observed")


def test_only_one_scrape_answered_shows_no_rates() -> None:
    summary = summarize([_seen("processor", None, PROCESSOR_AFTER)], NOW, 2.0)
    normalize = next(stage for stage in summary.stages if stage.stage == "normalize")
    assert (normalize.in_per_s, normalize.rejected, normalize.rejected_total) == (None, None, 18.0)
    assert summary.ok
    assert "-" in next(line for line in render(summary) if line.startswith("  normalize"))


def test_formats() -> None:
    ages = [42, 190, 2700, 3720, 7200, 2 * 86400 + 3 * 3600]
    assert [age(s) for s in ages] == ["42s", "3m10s", "45m", "1h02m", "2h", "2d03h"]
    assert [size(b) for b in (512, 1536, 12897484.8, 3 * 1024**3)] == [
        "512 B",
        "1.5 KiB",
        "12.3 MiB",
        "3.0 GiB",
    ]


def test_registered_targets(tmp_path: Path) -> None:
    (tmp_path / "sink-cdc.json").write_text(
        json.dumps([{"targets": ["127.0.0.1:9401"], "labels": {"service": "sink-cdc"}}])
    )
    (tmp_path / "processor.json").write_text(json.dumps([{"targets": ["127.0.0.1:9400"]}]))
    (tmp_path / "half-written.json").write_text('[{"targets": ')
    assert registered_targets(tmp_path) == [
        Target("processor", "127.0.0.1:9400"),
        Target("sink-cdc", "127.0.0.1:9401"),
    ]
    assert registered_targets(tmp_path / "missing") == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_status_command_against_real_servers() -> None:
    processor = CollectorRegistry()
    Gauge("headwater_build_info", "build", ["version", "python"], registry=processor).labels(
        "9.9.9", "3.11"
    ).set(1)
    records_in = Counter(
        "headwater_processor_records_in", "in", ["stage", "topic"], registry=processor
    )
    records_in.labels("normalize", "raw.cdc.orders").inc(1234)
    Counter(
        "headwater_processor_records_rejected",
        "rejected",
        ["stage", "topic", "reason"],
        registry=processor,
    ).labels("normalize", "raw.cdc.orders", "schema").inc(17)
    Histogram(
        "headwater_processor_event_lag_seconds",
        "lag",
        ["stage"],
        buckets=(0.5, 1, 2),
        registry=processor,
    ).labels("normalize").observe(0.2)
    sink = CollectorRegistry()
    lag = Gauge(
        "headwater_sink_consumer_lag_records",
        "lag",
        ["sink", "topic", "partition"],
        registry=sink,
    )
    lag.labels("headwater-sink-cdc", "cdc.orders", "0").set(4321)
    lag.labels("headwater-sink-cdc", "cdc.orders", "1").set(79)
    warehouse = {"up": True}
    with (
        HealthServer("127.0.0.1", 0, {"kafka": lambda: True}, processor) as first,
        HealthServer("127.0.0.1", 0, {"warehouse": lambda: warehouse["up"]}, sink) as second,
    ):
        targets = [
            "--target",
            f"processor=127.0.0.1:{first.port}",
            "--target",
            f"sink-cdc=127.0.0.1:{second.port}",
        ]
        done = CliRunner().invoke(status, [*targets, "--interval", "0.1"])
        assert done.exit_code == 0, done.output
        lines = done.output.splitlines()
        processor_line = next(line for line in lines if line.startswith("  processor"))
        assert "up" in processor_line
        assert "ready" in processor_line
        assert "9.9.9" in processor_line
        assert any(line.startswith("  sink-cdc") and "ready" in line for line in lines)
        normalize = next(line for line in lines if line.startswith("  normalize"))
        assert "17" in normalize
        assert "250ms*" in normalize  # one 0.2 s observation, in the (0, 0.5] bucket
        sink_line = next(line for line in lines if line.startswith("  headwater-sink-cdc"))
        assert "4,400" in sink_line

        warehouse["up"] = False
        down = f"sink-kpis=127.0.0.1:{_closed_port()}"
        done = CliRunner().invoke(
            status, [*targets, "--target", down, "--interval", "0.1", "--json"]
        )
        assert done.exit_code == 1, done.output
        answer = json.loads(done.output)
        assert not answer["ok"]
        services = {row["service"]: row for row in answer["services"]}
        assert services["sink-cdc"]["failing_checks"] == ["warehouse"]
        assert not services["sink-kpis"]["up"]
        assert answer["sinks"][0]["lag_records"] == 4400.0
        assert answer["stages"][0]["rejected_total"] == 17.0


class _WebPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>not a metrics endpoint</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _web_page() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_status_command_shows_a_non_metrics_answer_as_down() -> None:
    with _web_page() as port:
        target = f"web=127.0.0.1:{port}"
        done = CliRunner().invoke(status, ["--target", target, "--interval", "0.1", "--json"])
    assert isinstance(done.exception, SystemExit), done.exception  # a verdict, not a crash
    assert done.exit_code == 1, done.output
    (service,) = json.loads(done.output)["services"]
    assert (service["service"], service["up"], service["ready"]) == ("web", False, None)


def test_status_command_rejects_a_malformed_target() -> None:
    done = CliRunner().invoke(status, ["--target", "processor-9400"])
    assert done.exit_code == 2
    assert "SERVICE=HOST:PORT" in done.output

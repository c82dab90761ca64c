"""Dashboards and alerts proven against the stack's real Prometheus scraping the real services.

``headwater run`` runs the whole pipeline (CDC of an isolated schema, the three sandbox APIs,
processor, sinks, pollers, CDC monitor) and registers every service with Prometheus. Then,
through Prometheus' HTTP API: every PromQL expression of every dashboard panel returns at
least one series; every alert rule is loaded, evaluates without error, and its expression
is a valid query; no scraped series has a label outside the low-cardinality vocabulary or a
value that grows with the data; and the two alerts a test can provoke cheaply fire and
resolve: the Debezium connector is stopped and resumed, and the CleverTap API hangs (its
requests are held) and comes back.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from connectors.client import ConnectClient
from control.dashboards import panel_queries
from headwater.kafka.clients import make_producer
from headwater.settings import Settings
from headwater.topology import port_offsets, ports_needed
from sandbox.apis import SandboxApis, sandbox_apis
from tests.conftest import wait_for
from tests.support.cdc import Pipeline, cdc_pipeline
from tests.support.namespace import free_port_block, start_at_the_end_of_shared_topics

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
#: What Grafana puts in for $__rate_interval at this scrape interval (4 x 5 s, rounded up).
RATE_INTERVAL = "1m"
PORT_OFFSETS = port_offsets()
SERVICES = list(PORT_OFFSETS)  # in port order
SINKS = {
    "ad-performance": "norm.ads.performance_daily",
    "app-events": "norm.app.events",
    "kpis": "metrics.campaigns.kpis_daily",
}
#: Every label a Headwater service may export (Prometheus adds job, instance, service).
LABELS = {
    "__name__", "job", "instance", "service",
    "source", "stream", "endpoint", "outcome", "error", "stage", "topic", "reason", "sink",
    "action", "partition", "connector", "task", "state", "slot", "version", "python", "le",
    # Faust's own sensors
    "table", "operation", "metric", "status_code",
    # prometheus_client's process and platform collectors
    "generation", "implementation", "major", "minor", "patchlevel",
}  # fmt: skip
#: Labels whose values are numbers by nature (bounded by configuration, not by data).
NUMERIC_LABELS = {
    "le", "partition", "task", "status_code", "generation", "major", "minor", "patchlevel",
}  # fmt: skip
MAX_VALUES_PER_LABEL = 40
RECORDS_IN = "headwater_processor_records_in_total"


class Prometheus:
    """The stack's Prometheus over its HTTP API."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def get(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=30) as reply:
            body = json.load(reply)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.get("/api/v1/query", query=expr)
        return list(data["result"]) if data["resultType"] == "vector" else [data["result"]]

    def reload(self) -> None:
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.status == 200

    def rules(self) -> list[dict[str, Any]]:
        groups = self.get("/api/v1/rules", type="alert")["groups"]
        return [rule for group in groups for rule in group["rules"]]

    def active(self, alert: str, *, firing: bool = False, **labels: str) -> bool:
        """Whether the alert with these labels is pending or firing (with ``firing``: firing)."""
        return any(
            a["labels"].get("alertname") == alert
            and (a["state"] == "firing" or not firing)
            and all(a["labels"].get(k) == v for k, v in labels.items())
            for a in self.get("/api/v1/alerts")["alerts"]
        )


class ObservedRun:
    """``headwater run`` on an isolated CDC pipeline and the in-process sandbox APIs."""

    def __init__(self, line: Pipeline, apis: SandboxApis, settings: Settings, logs: Path) -> None:
        tag = uuid.uuid4().hex[:8]
        self.line = line
        self.apis = apis
        self.settings = settings
        self.logs = logs
        self.group_prefix = f"e2e-obs-{tag}"
        self.base_port = free_port_block(ports_needed())
        self.state_topic = f"e2e.poller_state.{tag}"
        stack = {k: v for k, v in os.environ.items() if k.startswith("HEADWATER_STACK__")}
        self.env = (
            line.env
            | apis.environment()
            | stack
            | {
                "HEADWATER_PROMETHEUS__URL": settings.prometheus.url,
                "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": secrets.token_hex(16),
                "HEADWATER_KPIS__ORDERS_TABLE": f"{line.schema}.orders",
                "HEADWATER_POLLER__STATE_TOPIC": self.state_topic,
                "HEADWATER_POLLER__BACKFILL_DAYS": "2",
                "HEADWATER_POLLER__INTERVAL_S": "5",
                "HEADWATER_POLLER__STALE_AFTER_S": "30",
                "HEADWATER_FACEBOOK__LOOKBACK_DAYS": "2",
                "HEADWATER_GOOGLE_ADS__LOOKBACK_DAYS": "2",
                "HEADWATER_CLEVERTAP__LOOKBACK_DAYS": "1",
                "HEADWATER_CLEVERTAP__EVENTS": json.dumps(["App Installed", "Charged"]),
                "HEADWATER_LOG__FORMAT": "text",
            }
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = logs / "run.log"

    def start(self) -> None:
        start_at_the_end_of_shared_topics(
            self.settings.kafka,
            self.line.env["HEADWATER_PROCESSOR__APP_ID"],
            self.line.warehouse_dsn,
            {f"{self.group_prefix}-{sink}": topic for sink, topic in SINKS.items()},
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "control.cli.main", "run",
                 "--base-port", str(self.base_port), "--group-prefix", self.group_prefix],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def stop(self) -> int | None:
        """SIGTERM, as an orchestrator stops it; the exit status (None: it had to be killed)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            return None

    def port(self, service: str) -> int:
        return self.base_port + PORT_OFFSETS[service]

    def ready(self, service: str) -> dict[str, Any] | None:
        try:
            url = f"http://127.0.0.1:{self.port(service)}/readyz"
            with urllib.request.urlopen(url, timeout=5) as reply:
                body: dict[str, Any] = json.load(reply)
                return body
        except OSError:
            return None

    def log_tail(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        run_dirs = sorted((Path(self.settings.stack.state_dir).resolve() / "run").glob("*"))
        if run_dirs:
            for log in sorted(run_dirs[-1].glob("*.log")):
                text += f"\n--- {log.name}\n" + log.read_text(errors="replace")[-2_000:]
        return text[-12_000:]

    def clean_up(self) -> None:
        with psycopg.connect(self.line.warehouse_dsn, autocommit=True) as warehouse:
            groups = [f"{self.group_prefix}-{sink}" for sink in ("cdc", *SINKS)]
            warehouse.execute("DELETE FROM headwater.sink_offsets WHERE sink = ANY(%s)", (groups,))
            accounts = [a.removeprefix("act_") for a in self.apis.facebook_accounts]
            accounts += self.apis.google_customers
            warehouse.execute(
                "DELETE FROM ad_performance_daily WHERE account_id = ANY(%s)", (accounts,)
            )
            warehouse.execute(
                "DELETE FROM app_events WHERE account_id = %s", (self.apis.clevertap.account_id,)
            )


@pytest.fixture
def run(settings: Settings, tmp_path: Path) -> Iterator[ObservedRun]:
    tag = uuid.uuid4().int
    apis = sandbox_apis(
        settings.sandbox.model_copy(
            update={"facebook_port": 0, "google_ads_port": 0, "clevertap_port": 0}
        ),
        daily_events={"App Installed": 40, "Charged": 20},
        facebook_accounts=[f"act_8{tag % 10**7:07d}"],
        google_customers=[f"8{tag % 10**9:09d}"],
        clevertap_account=f"OBS-{tag % 1000:03d}-{tag % 10**4:04d}",
    )
    with apis, cdc_pipeline(settings, tmp_path, customers=100, orders=300) as line:
        observed = ObservedRun(line, apis, settings, tmp_path)
        try:
            yield observed
        finally:
            apis.clevertap.release()
            observed.stop()
            observed.clean_up()


def _alert_names() -> set[str]:
    return {
        rule["alert"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def _dashboard_queries() -> list[tuple[str, str, str]]:
    queries = []
    for path in DASHBOARDS:
        for title, expr in panel_queries(json.loads(path.read_text())):
            queries.append((path.stem, title, expr.replace("$__rate_interval", RATE_INTERVAL)))
    return queries


def _empty_queries(prometheus: Prometheus, queries: list[tuple[str, str, str]]) -> list[str]:
    return [
        f"{board} / {title}: {expr}" for board, title, expr in queries if not prometheus.query(expr)
    ]


def _reject_one_record(settings: Settings, account: str) -> None:
    """A CleverTap envelope the normalizer must refuse: it lands in dlq.normalize."""
    producer = make_producer(settings.kafka)
    envelope = {"source": "clevertap", "stream": "events", "account": account, "payload": 42}
    producer.produce(
        "raw.clevertap.events", key=b"observability-reject", value=json.dumps(envelope)
    )
    assert producer.flush(30) == 0


def _label_problems(series: list[dict[str, str]], forbidden_values: set[str]) -> list[str]:
    problems: set[str] = set()
    values: dict[tuple[str, str], set[str]] = defaultdict(set)
    for labels in series:
        name = labels["__name__"]
        if name.startswith("ALERTS"):  # Prometheus' own alert series, copied labels and all
            continue
        for label, value in labels.items():
            values[(name, label)].add(value)
            if label not in LABELS:
                problems.add(f"{name}: label {label!r} is not in the vocabulary")
            if label not in NUMERIC_LABELS and value.isdigit():
                problems.add(f"{name}: {label}={value!r} looks like an id")
            if any(bad in value for bad in forbidden_values):
                problems.add(f"{name}: {label}={value!r} carries an account or campaign id")
    for (name, label), seen in values.items():
        if label not in {"__name__", "instance", "service"} and len(seen) > MAX_VALUES_PER_LABEL:
            problems.add(f"{name}: {len(seen)} values of {label!r}: {sorted(seen)[:10]} ...")
    return sorted(problems)


def test_dashboards_and_alerts_work_against_the_real_prometheus(
    run: ObservedRun, settings: Settings
) -> None:
    prometheus = Prometheus(settings.prometheus.url)
    prometheus.reload()  # the rules of this checkout, whenever the stack was started
    started_at = time.time()
    run.start()

    # Every service is up, ready (its real dependencies answer) and scraped.
    for service in SERVICES:
        readiness = wait_for(
            lambda s=service: (r := run.ready(s)) is not None and r["ready"] and r,
            timeout_s=240,
            interval_s=1,
            what=f"{service} ready",
            on_timeout=run.log_tail,
        )
        assert all(readiness["checks"].values()), (service, readiness)
        if service.startswith("sink-"):
            assert {"kafka", "warehouse", "assigned"} <= set(readiness["checks"]), readiness
    assert run.ready("cdc-monitor") == {
        "ready": True,
        "checks": {"connect": True, "source": True},
    }
    wait_for(
        lambda: (
            {r["metric"].get("service") for r in prometheus.query('up{job="headwater"} == 1')}
            >= set(SERVICES)
        ),
        timeout_s=60,
        interval_s=1,
        what="Prometheus scraping every service",
    )

    # A rejected record, so that the reject panels have something to show.
    wait_for(
        lambda: prometheus.query(
            'headwater_processor_records_in_total{topic="raw.clevertap.events"}'
        ),
        timeout_s=180,
        interval_s=2,
        what="the processor consuming CleverTap records",
        on_timeout=run.log_tail,
    )
    _reject_one_record(settings, run.apis.clevertap.account_id)

    # Every dashboard query returns at least one series.
    queries = _dashboard_queries()
    assert len(DASHBOARDS) == 5, DASHBOARDS
    assert len(queries) >= 40, len(queries)
    empty: list[str] = []

    # A rate window reaching back before this run could be answered by an earlier run's
    # samples (instant selectors are not: a removed target's series are marked stale).
    not_before = started_at + 65

    def all_answer() -> bool:
        empty[:] = _empty_queries(prometheus, queries)
        return time.time() >= not_before and not empty

    wait_for(
        all_answer,
        timeout_s=300,
        interval_s=5,
        what="every dashboard query to return a series",
        on_timeout=lambda: "empty:\n" + "\n".join(empty),
    )

    # Every alert rule is loaded and evaluates without error; its expression is a valid query.
    rules = prometheus.rules()
    assert len(rules) >= 14, [rule["name"] for rule in rules]
    assert {rule["name"] for rule in rules} == _alert_names(), "Prometheus loaded every rule"
    wait_for(
        lambda: all(rule["health"] == "ok" for rule in prometheus.rules()),
        timeout_s=30,
        what="every alert rule evaluated without error",
        on_timeout=lambda: str([(r["name"], r["health"], r.get("lastError")) for r in rules]),
    )
    for rule in rules:
        prometheus.query(rule["query"])  # raises unless Prometheus accepts it
    assert not prometheus.active("HeadwaterServiceDown"), "no service is down"

    # No label outside the vocabulary, and no value that grows with the data.
    with psycopg.connect(run.line.warehouse_dsn) as warehouse:
        campaigns = {
            str(row[0])
            for row in warehouse.execute(
                "SELECT DISTINCT campaign_id FROM ad_performance_daily WHERE account_id = ANY(%s)",
                ([a.removeprefix("act_") for a in run.apis.facebook_accounts],),
            )
        }
    assert campaigns, "the Facebook rows have landed"
    ids = {*run.apis.facebook_accounts, *run.apis.google_customers, *campaigns}
    ids.add(run.apis.clevertap.account_id)
    series = prometheus.get(
        "/api/v1/series", **{"match[]": '{job="headwater"}', "start": str(started_at)}
    )
    assert len(series) > 100, len(series)
    assert _label_problems(series, ids) == []

    # `headwater status` summarises the running pipeline from the same endpoints.
    status = subprocess.run(
        [sys.executable, "-m", "control.cli.main", "status", "--interval", "1"],
        env=run.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert status.returncode == 0, status.stdout + status.stderr
    for service in SERVICES:
        assert service in status.stdout, status.stdout
    assert "RUNNING" in status.stdout, status.stdout

    # Stop the connector and make the CleverTap API hang: both alerts fire...
    connect = ConnectClient(settings.connect.url)
    connect.stop(run.line.connector)
    run.apis.clevertap.hold()
    stopped = {"connector": run.line.connector}
    stale = {"source": "clevertap"}
    wait_for(
        lambda: prometheus.active("HeadwaterConnectorNotRunning", firing=True, **stopped),
        timeout_s=240,
        interval_s=2,
        what="HeadwaterConnectorNotRunning firing for the stopped connector",
    )
    wait_for(
        lambda: prometheus.active("HeadwaterSourceStale", firing=True, **stale),
        timeout_s=240,
        interval_s=2,
        what="HeadwaterSourceStale firing for the hanging CleverTap API",
    )
    assert not prometheus.active("HeadwaterSourceStale", source="google_ads")

    # ...and resolve when the connector and the API are back.
    connect.resume(run.line.connector)
    run.apis.clevertap.release()
    wait_for(
        lambda: not prometheus.active("HeadwaterConnectorNotRunning", **stopped),
        timeout_s=180,
        interval_s=2,
        what="HeadwaterConnectorNotRunning resolved",
    )
    wait_for(
        lambda: not prometheus.active("HeadwaterSourceStale", **stale),
        timeout_s=180,
        interval_s=2,
        what="HeadwaterSourceStale resolved",
        on_timeout=run.log_tail,
    )

    assert run.stop() == 0, run.log_tail()

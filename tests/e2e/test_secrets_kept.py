"""No secret leaves where it belongs: ``headwater run`` with a marker for every secret
(the API credentials, the CDC password, the pseudonymisation key, the databases' passwords,
Kafka's SASL password when set), then a search of every log line of every service and of
Connect, every /metrics exposition, every record (key, value, headers) written to any
topic during the run (raw envelopes, normalized records, KPIs, DLQ, changelogs, poller
state, CDC, Connect's config, offset and status topics) and the connector's config and
task configs over Connect's REST API. None may hold a marker.

The run's Connect worker is the test's own (``own_connect``): it resolves the CDC password
from its config provider, and its storage topics hold only this run's connector.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from connectors.client import ConnectClient
from headwater.kafka.clients import make_producer
from headwater.settings import Settings
from headwater.topology import port_offsets, ports_needed
from sandbox.apis import SandboxApis
from sandbox.clevertap.server import CleverTapSandbox
from sandbox.facebook_ads.server import FacebookSandbox
from sandbox.google_ads.server import GoogleAdsSandbox
from tests.conftest import wait_for
from tests.support.cdc import Pipeline, cdc_pipeline
from tests.support.namespace import free_port_block, start_at_the_end_of_shared_topics
from tests.support.private_connect import PrivateConnect
from tests.support.secret_search import (
    Findings,
    end_offsets,
    search_files,
    search_records_since,
)

SINKS = {
    "ad-performance": "norm.ads.performance_daily",
    "app-events": "norm.app.events",
    "kpis": "metrics.campaigns.kpis_daily",
}


def _marker(what: str) -> str:
    return f"SENTINEL-{what}-{secrets.token_hex(12)}"


MARKERS = {
    "HEADWATER_FACEBOOK__ACCESS_TOKEN": _marker("fb"),
    "HEADWATER_GOOGLE_ADS__DEVELOPER_TOKEN": _marker("gads-dev"),
    "HEADWATER_GOOGLE_ADS__CLIENT_SECRET": _marker("gads-client"),
    "HEADWATER_GOOGLE_ADS__REFRESH_TOKEN": _marker("gads-refresh"),
    "HEADWATER_CLEVERTAP__PASSCODE": _marker("ct"),
    "HEADWATER_CDC__PASSWORD": _marker("cdc"),
    "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": _marker("pseudonymisation-key"),
}


def _apis(tag: int) -> SandboxApis:
    """The stand-ins, each accepting only its marker credentials."""
    facebook = FacebookSandbox(42, access_token=MARKERS["HEADWATER_FACEBOOK__ACCESS_TOKEN"])
    google = GoogleAdsSandbox(42)
    google.DEVELOPER_TOKEN = MARKERS["HEADWATER_GOOGLE_ADS__DEVELOPER_TOKEN"]  # type: ignore[misc]
    google.CLIENT_SECRET = MARKERS["HEADWATER_GOOGLE_ADS__CLIENT_SECRET"]  # type: ignore[misc]
    google.REFRESH_TOKEN = MARKERS["HEADWATER_GOOGLE_ADS__REFRESH_TOKEN"]  # type: ignore[misc]
    clevertap = CleverTapSandbox(
        42,
        account_id=f"SEC-{tag % 1000:03d}-{tag % 10**4:04d}",
        passcode=MARKERS["HEADWATER_CLEVERTAP__PASSCODE"],
        daily_volume={"App Installed": 20, "Charged": 10},
    )
    return SandboxApis(
        facebook,
        google,
        clevertap,
        facebook_accounts=[f"act_7{tag % 10**7:07d}"],
        google_customers=[f"7{tag % 10**9:09d}"],
    )


class SentinelRun:
    """``headwater run`` with marker secrets, on an isolated CDC pipeline and the stand-ins."""

    def __init__(self, line: Pipeline, apis: SandboxApis, settings: Settings, logs: Path) -> None:
        tag = uuid.uuid4().hex[:8]
        self.line, self.apis, self.settings, self.logs = line, apis, settings, logs
        self.group_prefix = f"e2e-secrets-{tag}"
        self.base_port = free_port_block(ports_needed())
        self.state_dir = logs / "state"
        self.env = (
            line.env
            | apis.environment()
            | MARKERS
            | {
                "HEADWATER_STACK__STATE_DIR": str(self.state_dir),  # the run folder, kept apart
                "HEADWATER_KPIS__ORDERS_TABLE": f"{line.schema}.orders",
                "HEADWATER_POLLER__STATE_TOPIC": f"e2e.poller_state.{tag}",
                "HEADWATER_POLLER__BACKFILL_DAYS": "1",
                "HEADWATER_POLLER__INTERVAL_S": "5",
                "HEADWATER_FACEBOOK__LOOKBACK_DAYS": "1",
                "HEADWATER_GOOGLE_ADS__LOOKBACK_DAYS": "1",
                "HEADWATER_CLEVERTAP__LOOKBACK_DAYS": "1",
                "HEADWATER_CLEVERTAP__EVENTS": json.dumps(["App Installed", "Charged"]),
                "HEADWATER_LOG__FORMAT": "json",
                "HEADWATER_LOG__LEVEL": "DEBUG",  # the most lines a service writes
            }
        )
        self.log_path = logs / "run.log"
        self.process: subprocess.Popen[bytes] | None = None

    def markers(self) -> list[str]:
        """Every secret of the run: the markers, the databases' and Kafka's passwords."""
        found = list(MARKERS.values())
        for dsn in (self.line.source_dsn, self.line.warehouse_dsn):
            password = urlsplit(dsn).password
            if password:
                found.append(password)
        if self.settings.kafka.sasl_password is not None:
            found.append(self.settings.kafka.sasl_password.get_secret_value())
        return found

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
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            return None

    def metrics(self, service: str) -> bytes | None:
        url = f"http://127.0.0.1:{self.base_port + port_offsets()[service]}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                body: bytes = reply.read()
                return body
        except OSError:
            return None

    def log_files(self) -> list[Path]:
        return [self.log_path, *sorted((self.state_dir / "run").glob("*/*.log"))]

    def log_tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-1500:] for p in self.log_files())

    def landed(self) -> bool:
        """Rows of every source reached the warehouse: the whole pipeline ran."""
        accounts = [a.removeprefix("act_") for a in self.apis.facebook_accounts]
        with psycopg.connect(self.line.warehouse_dsn) as warehouse:
            ads = warehouse.execute(
                "SELECT count(DISTINCT account_id) FROM ad_performance_daily "
                "WHERE account_id = ANY(%s)",
                ([*accounts, *self.apis.google_customers],),
            ).fetchone()
            events = warehouse.execute(
                "SELECT count(*) FROM app_events WHERE account_id = %s",
                (self.apis.clevertap.account_id,),
            ).fetchone()
            mirror = warehouse.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                (self.line.schema,),
            ).fetchone()
        return bool(ads and ads[0] == 2 and events and events[0] > 0 and mirror and mirror[0] > 0)

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
def run(settings: Settings, own_connect: PrivateConnect, tmp_path: Path) -> Iterator[SentinelRun]:
    apis = _apis(uuid.uuid4().int)
    extra = own_connect.env() | {"HEADWATER_CDC__PASSWORD": MARKERS["HEADWATER_CDC__PASSWORD"]}
    with apis, cdc_pipeline(settings, tmp_path, customers=30, orders=60, extra=extra) as line:
        sentinel = SentinelRun(line, apis, settings, tmp_path)
        try:
            yield sentinel
        finally:
            sentinel.stop()
            sentinel.clean_up()


def test_no_secret_in_logs_metrics_records_or_connector_config(
    run: SentinelRun, settings: Settings, own_connect: PrivateConnect
) -> None:
    markers = run.markers()
    since = end_offsets(settings.kafka)
    run.start()
    wait_for(run.landed, timeout_s=300, interval_s=2, what="rows of every source landed",
             on_timeout=run.log_tail)  # fmt: skip
    # A refused raw envelope, for a DLQ record to search.
    producer = make_producer(settings.kafka)
    envelope = {"source": "clevertap", "stream": "events", "account": "x", "payload": 42}
    producer.produce("raw.clevertap.events", key=b"sentinel-reject", value=json.dumps(envelope))
    assert producer.flush(30) == 0
    findings = Findings()

    exposition = {}
    for service in port_offsets():
        body = wait_for(lambda s=service: run.metrics(s), timeout_s=60, what=f"{service} /metrics")
        exposition[service] = body
    client = ConnectClient(own_connect.url)
    name = run.line.connector
    for path in (f"/connectors/{name}/config", f"/connectors/{name}/tasks",
                 f"/connectors/{name}/status", f"/connectors/{name}/offsets"):  # fmt: skip
        with urllib.request.urlopen(f"{own_connect.url}{path}", timeout=10) as reply:
            findings.search(f"Connect {path}", "connector REST", reply.read(), markers)
    assert client.get_config(name) is not None
    assert run.stop() == 0

    for service, body in exposition.items():
        findings.search(f"{service} /metrics", "metric expositions", body, markers)
    search_files([*run.log_files(), own_connect.log_file], markers, findings)
    search_records_since(settings.kafka, since, markers, findings)

    assert findings.leaks == []
    searched = findings.searched
    assert searched["metric expositions"] == len(port_offsets())
    assert searched["connector REST"] == 4
    assert searched["log lines"] > 300, searched
    for kind in ("raw", "norm", "metrics", "dlq", "cdc", own_connect.group):
        assert any(k.startswith(f"records:{kind}") for k in searched), (kind, searched)
    assert sum(n for k, n in searched.items() if k.startswith("records:")) > 500, searched

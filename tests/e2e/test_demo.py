"""`headwater demo --duration 60`, as `make demo DURATION=60` runs it, against the running stack.

The demo runs in a namespace of its own (source schema, connector, slot, role, Debezium topic
prefix, consumer groups, sandbox accounts, ports), whose consumer groups start at the current
end of the topics that other runs share, so that it moves only its own data. It must drain,
exit 0, print a reconciliation in which every source's in = normalized + rejected + filtered
with nothing pending (every change published, none unread by the processor, none normalized
and not landed), and land rows in the warehouse.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import KafkaException

from connectors.debezium_postgres import heartbeat_topic
from headwater.kafka.clients import make_admin
from headwater.settings import CdcSettings, Settings
from headwater.topology import ports_needed
from tests.support.cdc import TABLES, Pipeline, cdc_pipeline
from tests.support.namespace import free_port_block, start_at_the_end_of_shared_topics

SOURCES = ("app database", "facebook_ads", "google_ads", "clevertap")
COLUMNS = ("pulled", "unread", "in", "normalized", "rejected", "filtered", "landed",
           "sink_dlq", "unlanded")  # fmt: skip
ROW = re.compile(
    r"^  (?P<source>app database|facebook_ads|google_ads|clevertap)\s+"
    + r"\s+".join(rf"(?P<{column}>[\d,]+)" for column in COLUMNS)
    + r"\s+(?P<check>[\d,]+ = [\d,]+ \+ [\d,]+ \+ [\d,]+)"
    + r"\s+(?P<verdict>ok|pending.*|Debezium.*|MISMATCH.*)$",
    re.MULTILINE,
)
SINKS = {"ad-performance": "norm.ads.performance_daily", "app-events": "norm.app.events",
         "kpis": "metrics.campaigns.kpis_daily"}  # fmt: skip


class DemoRun:
    """The namespace of one demo run, on top of an isolated CDC pipeline."""

    def __init__(self, line: Pipeline, settings: Settings) -> None:
        tag = uuid.uuid4().hex[:8]
        self.line = line
        self.settings = settings
        self.group_prefix = f"e2e-demo-{tag}"
        self.facebook = [f"act_9{random.randrange(10**7, 10**8)}" for _ in range(2)]
        self.google = [str(random.randrange(10**9, 10**10)) for _ in range(2)]
        self.clevertap = f"DMO-{tag[:3]}-{tag[3:7]}".upper()
        self.state_topic = f"e2e.poller_state.{tag}"
        stack = {k: v for k, v in os.environ.items() if k.startswith("HEADWATER_STACK__")}
        self.env = (
            line.env
            | stack
            | {
                "HEADWATER_PROMETHEUS__URL": settings.prometheus.url,
                "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": uuid.uuid4().hex,
                "HEADWATER_KPIS__ORDERS_TABLE": f"{line.schema}.orders",
                "HEADWATER_POLLER__STATE_TOPIC": self.state_topic,
                "HEADWATER_POLLER__BACKFILL_DAYS": "7",
                "HEADWATER_FACEBOOK__AD_ACCOUNT_IDS": json.dumps(self.facebook),
                "HEADWATER_GOOGLE_ADS__CUSTOMER_IDS": json.dumps(self.google),
                "HEADWATER_CLEVERTAP__ACCOUNT_ID": self.clevertap,
                "HEADWATER_SANDBOX__FACEBOOK_PORT": "0",
                "HEADWATER_SANDBOX__GOOGLE_ADS_PORT": "0",
                "HEADWATER_SANDBOX__CLEVERTAP_PORT": "0",
                "HEADWATER_LOG__FORMAT": "text",
            }
        )

    def sink_groups(self) -> list[str]:
        return [f"{self.group_prefix}-{sink}" for sink in ("cdc", *SINKS)]

    def start_at_the_end_of_shared_topics(self) -> None:
        """The run's processor and sinks skip what other runs left in the shared topics."""
        start_at_the_end_of_shared_topics(
            self.settings.kafka,
            self.line.env["HEADWATER_PROCESSOR__APP_ID"],
            self.line.warehouse_dsn,
            {f"{self.group_prefix}-{sink}": topic for sink, topic in SINKS.items()},
        )

    def run_demo(self, logs: Path) -> subprocess.CompletedProcess[str]:
        base_port = free_port_block(ports_needed())
        return subprocess.run(
            [sys.executable, "-m", "control.cli.main", "demo", "--duration", "60",
             "--base-port", str(base_port), "--group-prefix", self.group_prefix,
             "--drain-timeout", "180"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=480,
            check=False,
        )  # fmt: skip

    def clean_up(self) -> None:
        with psycopg.connect(self.line.warehouse_dsn, autocommit=True) as warehouse:
            warehouse.execute(
                "DELETE FROM headwater.sink_offsets WHERE sink = ANY(%s)", (self.sink_groups(),)
            )
            accounts = [a.removeprefix("act_") for a in self.facebook] + self.google
            warehouse.execute(
                "DELETE FROM ad_performance_daily WHERE account_id = ANY(%s)", (accounts,)
            )
            warehouse.execute("DELETE FROM app_events WHERE account_id = %s", (self.clevertap,))
        admin = make_admin(self.settings.kafka)
        groups = [self.line.env["HEADWATER_PROCESSOR__APP_ID"], *self.sink_groups()]
        cdc = CdcSettings(topic_prefix=self.line.env["HEADWATER_CDC__TOPIC_PREFIX"])
        topics = [cdc.topic(f"{self.line.schema}.{table}") for table in TABLES]
        futures = [
            *admin.delete_topics(
                [self.state_topic, *topics, heartbeat_topic(cdc)], operation_timeout=30
            ).values(),
            *admin.delete_consumer_groups(groups).values(),
        ]
        for future in futures:
            with contextlib.suppress(KafkaException):  # never created: nothing to delete
                future.result()


@pytest.fixture
def demo(settings: Settings, tmp_path: Path) -> Iterator[DemoRun]:
    # A topic prefix of its own: Debezium connectors sharing one on the Connect worker wait
    # for each other's JMX metrics names, a minute or more, before they publish anything.
    prefix = {"HEADWATER_CDC__TOPIC_PREFIX": f"cdc.demo{uuid.uuid4().hex[:8]}"}
    with cdc_pipeline(settings, tmp_path, customers=300, orders=1_500, extra=prefix) as line:
        run = DemoRun(line, settings)
        run.start_at_the_end_of_shared_topics()
        try:
            yield run
        finally:
            run.clean_up()


def _count(dsn: str, query: str, *args: object) -> int:
    with psycopg.connect(dsn) as warehouse:
        row = warehouse.execute(query, args).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


def test_make_demo_reconciles_every_source_and_fills_the_warehouse(
    demo: DemoRun, tmp_path: Path
) -> None:
    done = demo.run_demo(tmp_path)
    print(done.stdout)  # shown by pytest -s, and with a failure
    output = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-5000:]}"

    assert done.returncode == 0, output
    assert "drain: every consumer caught up" in done.stdout, output
    assert "PENDING" not in done.stdout, output
    assert done.stdout.rstrip().endswith("demo finished: every record accounted for"), output
    rows = {match["source"]: match for match in ROW.finditer(done.stdout)}
    assert sorted(rows) == sorted(SOURCES), output
    for source, row in rows.items():
        figures = {column: int(row[column].replace(",", "")) for column in COLUMNS}
        assert figures["pulled"] > 0, f"{source} moved nothing: {row.group(0)}"
        assert figures["unread"] == 0, f"{source}: the processor left records: {row.group(0)}"
        assert figures["in"] >= figures["pulled"], row.group(0)
        assert figures["in"] == figures["normalized"] + figures["rejected"] + figures["filtered"]
        assert figures["normalized"] == figures["landed"] + figures["sink_dlq"], row.group(0)
        assert figures["unlanded"] == 0, row.group(0)
        assert row["verdict"] == "ok", row.group(0)
    assert "TOP 10 CAMPAIGNS BY ROAS" in done.stdout, output

    dsn, schema = demo.line.warehouse_dsn, demo.line.schema
    assert _count(dsn, f'SELECT count(*) FROM "{schema}".src_customers') > 0
    assert _count(dsn, f'SELECT count(*) FROM "{schema}".src_orders') > 0
    accounts = [a.removeprefix("act_") for a in demo.facebook] + demo.google
    assert _count(dsn, "SELECT count(*) FROM ad_performance_daily WHERE account_id = ANY(%s)",
                  accounts) > 0  # fmt: skip
    assert _count(dsn, "SELECT count(*) FROM app_events WHERE account_id = %s", demo.clevertap) > 0
    assert _count(dsn, "SELECT count(*) FROM campaign_kpis_daily") > 0

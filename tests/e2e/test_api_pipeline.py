"""Ads and CleverTap end to end: sandbox APIs -> pollers -> raw topics -> Faust -> warehouse.

Every service talks to Kafka over the stack's SASL_SSL listener (TLS verified against the
stack's CA, SCRAM-SHA-512) as its own principal, with only the ACLs ``headwater kafka acls``
derives for this run's names: the pollers as ``poller``, the processor (and its Faust app)
as ``processor``, the sinks as ``sink``.

3 ad accounts x 30 days x 200 ads per platform and over 100,000 CleverTap events. After a
full run, and after a second run in which the platforms restated their recent days and late
events arrived, the warehouse equals the sandboxes' ground truth per (platform, date,
campaign), to the cent, and every event is in app_events exactly once. Replaying the raw
topics (a fresh processor from the beginning) leaves the tables identical.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from control.stack.kafka_users import ADMIN
from headwater.kafka.acls import (
    POLLER,
    PROCESSOR,
    SINK,
    SINK_GROUP_PREFIX,
    apply_grants,
    service_grants,
)
from headwater.kafka.clients import make_admin
from headwater.settings import Settings
from sandbox.apis import SandboxApis, sandbox_apis
from sandbox.clevertap.data import EVENT_NAMES
from tests.conftest import secure_kafka_env, wait_for
from tests.support.progress import group_caught_up, sink_caught_up
from tests.support.services import Service, headwater, settings_from
from tests.support.truth import Totals, truth_ad_totals, warehouse_ad_totals

DAYS = 30
DAILY_EVENTS = {"App Installed": 800, "App Launched": 1800, "Sign Up": 500, "Charged": 420}


class ApiPipeline:
    """Sandbox APIs with accounts of this run only, and the services that move their data."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        tag = uuid.uuid4().hex[:8]
        rng = random.Random(tag)
        self.facebook_accounts = [f"act_{rng.randrange(10**8, 10**9)}" for _ in range(3)]
        self.google_customers = [str(rng.randrange(10**9, 10**10)) for _ in range(3)]
        self.clevertap_account = f"E2E-{tag[:3]}-{tag[3:7]}".upper()
        self.apis: SandboxApis = sandbox_apis(
            settings.sandbox.model_copy(
                update={"facebook_port": 0, "google_ads_port": 0, "clevertap_port": 0}
            ),
            ads_per_adset=10,
            adsets_per_campaign=4,
            ad_groups_per_campaign=40,
            daily_events=DAILY_EVENTS,
            facebook_accounts=self.facebook_accounts,
            google_customers=self.google_customers,
            clevertap_account=self.clevertap_account,
        )
        assert settings.warehouse.dsn is not None
        self.warehouse_dsn = settings.warehouse.dsn.get_secret_value()
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")} | {
            "HEADWATER_WAREHOUSE__DSN": self.warehouse_dsn,
            "HEADWATER_POLLER__BACKFILL_DAYS": str(DAYS - 1),
            "HEADWATER_POLLER__STATE_TOPIC": f"e2e.poller_state.{tag}",
            "HEADWATER_CLEVERTAP__EVENTS": json.dumps(list(DAILY_EVENTS)),
            "HEADWATER_PROCESSOR__APP_ID": f"e2e-api-processor-{tag}",
            "HEADWATER_PROCESSOR__PSEUDONYMIZATION_KEY": secrets.token_hex(16),
        }
        self.tag = tag
        self.logs = logs

    def env(self, principal: str, **settings: str) -> dict[str, str]:
        """A service's environment: this run's settings, Kafka over SASL_SSL as ``principal``."""
        return self.base_env | self.apis.environment() | secure_kafka_env(principal) | settings

    def grant(self, **settings: str) -> None:
        """The services' ACLs for this run's topic and group names, as an operator applies them."""
        run = settings_from(self.env(ADMIN, **settings))
        apply_grants(make_admin(run.kafka), service_grants(run))

    def sink_group(self, sink: str) -> str:
        """A sink's group in this run (under the sinks' group prefix, which their ACL names)."""
        return f"{SINK_GROUP_PREFIX}-e2e-{sink}-{self.tag}"

    def start(self) -> None:
        self.apis.start()
        self.grant()
        self.processor = Service("processor", ["process"], self.env(PROCESSOR), self.logs).start()
        self.ads_sink = Service(
            "ads-sink",
            ["sink", "ad-performance", "--group-id", self.sink_group("ads")],
            self.env(SINK),
            self.logs,
        ).start()
        self.events_sink = Service(
            "events-sink",
            ["sink", "app-events", "--group-id", self.sink_group("events")],
            self.env(SINK),
            self.logs,
        ).start()

    def poll_all(self) -> None:
        for source in ("facebook_ads", "google_ads", "clevertap"):
            done = headwater("poll", source, "--once", env=self.env(POLLER), timeout=600)
            assert done.returncode == 0, f"poll {source}:\n{done.stdout}\n{done.stderr}"

    def stop(self) -> None:
        for service in (self.ads_sink, self.events_sink, self.processor):
            service.stop()
        self.apis.stop()


@pytest.fixture
def pipeline(settings: Settings, tmp_path: Path) -> Iterator[ApiPipeline]:
    line = ApiPipeline(settings, tmp_path)
    line.start()
    try:
        yield line
    finally:
        line.stop()
        with psycopg.connect(line.warehouse_dsn, autocommit=True) as warehouse:
            accounts = [a.removeprefix("act_") for a in line.facebook_accounts]
            warehouse.execute(
                "DELETE FROM ad_performance_daily WHERE account_id = ANY(%s)",
                (accounts + line.google_customers,),
            )
            warehouse.execute(
                "DELETE FROM app_events WHERE account_id = %s", (line.clevertap_account,)
            )


def _days() -> list[date]:
    today = datetime.now(UTC).date()
    return [today - timedelta(days=n) for n in range(DAYS)]


def _truth_ads(line: ApiPipeline) -> Totals:
    return truth_ad_totals(line.apis, _days())


def _warehouse_ads(line: ApiPipeline) -> Totals:
    return warehouse_ad_totals(line.warehouse_dsn, line.apis, _days()[-1])


def _truth_events(line: ApiPipeline) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for day in _days():
        for name in EVENT_NAMES:
            visible = line.apis.clevertap.truth(name, day)
            if visible:
                counts[(name, day.strftime("%Y%m%d"))] = len(visible)
    return counts


def _warehouse_events(line: ApiPipeline) -> dict[tuple[str, str], int]:
    with psycopg.connect(line.warehouse_dsn) as warehouse:
        rows = warehouse.execute(
            "SELECT event_name, to_char(occurred_at AT TIME ZONE 'Asia/Kolkata', 'YYYYMMDD'), "
            "count(*) FROM app_events WHERE account_id = %s GROUP BY 1, 2",
            (line.clevertap_account,),
        ).fetchall()
    return {(name, day): int(count) for name, day, count in rows}


def _matches(line: ApiPipeline) -> bool:
    ads = _warehouse_ads(line) == _truth_ads(line)
    return ads and _warehouse_events(line) == _truth_events(line)


def _snapshot(line: ApiPipeline) -> tuple[list[Any], list[Any]]:
    accounts = [a.removeprefix("act_") for a in line.facebook_accounts] + line.google_customers
    with psycopg.connect(line.warehouse_dsn) as warehouse:
        ads = warehouse.execute(
            "SELECT * FROM ad_performance_daily WHERE account_id = ANY(%s) "
            "ORDER BY platform, account_id, campaign_id, ad_group_id, ad_id, date",
            (accounts,),
        ).fetchall()
        events = warehouse.execute(
            "SELECT * FROM app_events WHERE account_id = %s ORDER BY event_id",
            (line.clevertap_account,),
        ).fetchall()
    return ads, events


def test_warehouse_equals_the_apis_ground_truth_after_restatement_and_replay(
    pipeline: ApiPipeline, settings: Settings
) -> None:
    line = pipeline
    line.poll_all()
    truth_events = sum(_truth_events(line).values())
    assert truth_events >= 100_000
    assert len(_truth_ads(line)) == 2 * DAYS * 5  # 5 campaigns per platform and day
    wait_for(
        lambda: _matches(line),
        timeout_s=600,
        interval_s=3,
        what=f"warehouse = truth\n{line.processor.log_tail()}\n{line.ads_sink.log_tail()}",
    )

    before = _truth_ads(line)
    line.apis.restate()  # recent days restated, late CleverTap events now visible
    after = _truth_ads(line)
    assert before != after
    line.poll_all()
    wait_for(lambda: _matches(line), timeout_s=600, interval_s=3, what="restated truth")
    assert sum(_truth_events(line).values()) > truth_events  # late events arrived and landed

    # Replay: a fresh processor reads the raw topics from the beginning.
    tables = _snapshot(line)
    line.processor.stop()
    replay_group = f"e2e-api-replay-{line.tag}"
    line.grant(HEADWATER_PROCESSOR__APP_ID=replay_group)
    replay = Service(
        "replay",
        ["process"],
        line.env(PROCESSOR, HEADWATER_PROCESSOR__APP_ID=replay_group),
        line.logs,
    ).start()
    kafka = settings.kafka
    raw = ["raw.facebook_ads.insights", "raw.google_ads.ad_group_daily", "raw.clevertap.events"]
    norm = ["norm.ads.performance_daily", "norm.app.events"]
    try:
        wait_for(
            lambda: group_caught_up(kafka, replay_group, raw),
            timeout_s=600,
            interval_s=3,
            what=f"replay\n{replay.log_tail()}",
        )
        sinks = {line.sink_group("ads"): norm[:1], line.sink_group("events"): norm[1:]}
        for sink, topics in sinks.items():
            wait_for(
                lambda sink=sink, topics=topics: sink_caught_up(
                    kafka, line.warehouse_dsn, sink, topics
                ),
                timeout_s=300,
                interval_s=2,
                what=f"{sink} caught up with the replay",
            )
    finally:
        replay.stop()
    assert _snapshot(line) == tables

"""``headwater reconcile --date D`` against the sandbox APIs and a warehouse holding that day.

One Facebook ad account and one Google Ads customer of this test's own, one day: the real
pollers (``headwater backfill``) pull the day from the sandboxes into the raw topics; the
product's normalizers turn the records this run wrote into normalized records on a topic of
the test's own (a fresh processor would first read every other run's raw records on the
shared stack), and the product's ad-performance sink lands them in ``ad_performance_daily``.
Then the command matches; after a platform restates the day (not pulled again) or a
warehouse row changes, it exits 1 naming the account, the day and the figures.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import TopicPartition

from headwater.kafka.clients import make_admin, make_consumer, make_producer
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.raw import raw_topic, read_envelope
from headwater.settings import Settings
from sandbox.apis import SandboxApis, sandbox_apis
from sinks.ads import ads_writer
from sinks.runner import SinkRunner
from stream_processors.ads.normalize import facebook, google_ads
from stream_processors.base import Transform
from tests.conftest import wait_for
from tests.support.progress import high_watermarks, sink_caught_up
from tests.support.running import Worker
from tests.support.services import headwater, kafka_env

#: yesterday: served by both sandboxes and inside the days they restate
DAY = datetime.now(UTC).date() - timedelta(days=1)
RAW = {"facebook_ads": raw_topic("facebook_ads", "insights"),
       "google_ads": raw_topic("google_ads", "ad_group_daily")}  # fmt: skip


@dataclass
class Landed:
    """The day of the test's accounts in the warehouse, and how to run the command."""

    apis: SandboxApis
    env: dict[str, str]
    dsn: str
    facebook_account: str
    google_customer: str

    def reconcile(self, *args: str) -> tuple[int, str, str]:
        done = headwater("reconcile", "--date", DAY.isoformat(), *args, env=self.env, timeout=120)
        return done.returncode, done.stdout, done.stderr


def _normalized(settings: Settings, tag: str, since: dict[tuple[str, int], int],
                accounts: dict[str, str]) -> Iterator[tuple[bytes | None, bytes]]:  # fmt: skip
    """The product's normalizer outputs of the raw records this run's pollers wrote."""
    transforms: dict[str, Transform] = {
        RAW["facebook_ads"]: facebook(settings),
        RAW["google_ads"]: google_ads(settings),
    }
    ends = high_watermarks(settings.kafka, list(RAW.values()))
    pending = {tp: end for tp, end in ends.items() if end > since.get(tp, 0)}
    consumer = make_consumer(settings.kafka, f"test-reconcile-{tag}")
    try:
        consumer.assign([TopicPartition(t, p, since.get((t, p), 0)) for (t, p) in pending])
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            for message in consumer.consume(500, 1.0):
                assert message.error() is None, message.error()
                topic, partition = message.topic() or "", message.partition() or 0
                if message.offset() >= pending.get((topic, partition), 0) - 1:
                    pending.pop((topic, partition), None)  # read up to this run's records
                if message.offset() >= ends[(topic, partition)]:
                    continue  # written after this run's backfill
                if read_envelope(message.value()).account.removeprefix("act_") != accounts[topic]:
                    continue  # another run's record
                for output in transforms[topic](topic, message.key(), message.value()):
                    yield output.key, output.value
    finally:
        consumer.close()
    assert not pending, f"raw partitions not read to their end: {pending}"


@pytest.fixture
def landed(settings: Settings, tmp_path: Path) -> Iterator[Landed]:
    tag = uuid.uuid4().hex[:10]
    number = int(tag, 16)
    facebook_account, customer = f"{number % 10**9:09d}", f"{number % 10**10:010d}"
    apis = sandbox_apis(
        settings.sandbox.model_copy(
            update={"facebook_port": 0, "google_ads_port": 0, "clevertap_port": 0}
        ),
        facebook_accounts=[f"act_{facebook_account}"],
        google_customers=[customer],
    ).start()
    assert settings.warehouse.dsn is not None
    dsn = settings.warehouse.dsn.get_secret_value()
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
        | {k: v for k, v in os.environ.items() if k.startswith("HEADWATER_")}
        | kafka_env(settings.kafka)
        | apis.environment()
        | {
            "HEADWATER_WAREHOUSE__DSN": dsn,
            "HEADWATER_POLLER__STATE_TOPIC": f"test.poller_state.{tag}",
        }
    )
    norm, group = f"test.reconcile.{tag}", f"test-reconcile-sink-{tag}"
    sink: Worker[SinkRunner] | None = None
    try:
        ensure_topics(make_admin(settings.kafka), [TopicSpec(norm, 1, 1)])
        since = high_watermarks(settings.kafka, list(RAW.values()))
        for source in RAW:
            day = DAY.isoformat()
            done = headwater("backfill", source, "--since", day, "--until", day, env=env)
            assert done.returncode == 0, f"backfill {source}:\n{done.stdout}\n{done.stderr}"
        producer = make_producer(settings.kafka)
        accounts = {RAW["facebook_ads"]: facebook_account, RAW["google_ads"]: customer}
        for key, value in _normalized(settings, tag, since, accounts):
            producer.produce(norm, value, key)
        assert producer.flush(30) == 0
        sink = Worker(SinkRunner(settings, ads_writer(settings), [norm], group))
        wait_for(
            lambda: sink_caught_up(settings.kafka, dsn, group, [norm]),
            timeout_s=60,
            what="the ad-performance sink landed the day",
        )
        yield Landed(apis, env, dsn, facebook_account, customer)
    finally:
        if sink is not None:
            sink.close()
        apis.stop()
        make_admin(settings.kafka).delete_topics([norm])
        with psycopg.connect(dsn, autocommit=True) as warehouse:
            warehouse.execute(
                "DELETE FROM ad_performance_daily WHERE account_id = ANY(%s)",
                ([facebook_account, customer],),
            )
            warehouse.execute("DELETE FROM headwater.sink_offsets WHERE sink = %s", (group,))


def _rows(dsn: str, account: str, day: date) -> int:
    with psycopg.connect(dsn) as warehouse:
        found = warehouse.execute(
            "SELECT count(*) FROM ad_performance_daily WHERE account_id = %s AND date = %s",
            (account, day),
        ).fetchone()
    return int(found[0]) if found else 0


def test_the_landed_day_reconciles_and_a_restatement_or_an_edited_row_does_not(
    landed: Landed,
) -> None:
    assert _rows(landed.dsn, landed.facebook_account, DAY) > 0
    assert _rows(landed.dsn, landed.google_customer, DAY) > 0

    code, out, err = landed.reconcile()
    assert code == 0, f"{out}\n{err}"
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert lines[0].startswith(
        f"facebook_ads {landed.facebook_account} {DAY}: ok (warehouse vs API): spend "
    ), out
    assert lines[1].startswith(
        f"google_ads {landed.google_customer} {DAY}: ok (warehouse vs API): spend "
    ), out
    assert "diff" not in out

    # A warehouse row edited by hand: one cent more on one ad group of the Google customer.
    with psycopg.connect(landed.dsn, autocommit=True) as warehouse:
        warehouse.execute(
            "UPDATE ad_performance_daily SET spend = spend + 0.01, clicks = clicks + 2 "
            "WHERE ctid = (SELECT ctid FROM ad_performance_daily WHERE account_id = %s "
            "AND date = %s LIMIT 1)",
            (landed.google_customer, DAY),
        )
    code, out, err = landed.reconcile("--source", "google_ads")
    assert code == 1, f"{out}\n{err}"
    assert out.startswith(
        f"google_ads {landed.google_customer} {DAY}: DIFFERS (warehouse vs API): "
    ), out
    assert "(diff +0.01)" in out, out
    assert "(diff +2)" in out, out
    assert "facebook_ads" not in out
    assert "1 account-day(s) differ" in err

    # Facebook restates the day; the pollers have not pulled it again.
    landed.apis.facebook.restate()
    code, out, err = landed.reconcile("--source", "facebook_ads")
    assert code == 1, f"{out}\n{err}"
    assert out.startswith(
        f"facebook_ads {landed.facebook_account} {DAY}: DIFFERS (warehouse vs API): "
    ), out
    served = landed.apis.facebook.truth(f"act_{landed.facebook_account}", DAY)
    spend = sum(Decimal(row["spend"]) for row in served)
    assert f"vs {spend.quantize(Decimal('0.01'))}" in out, out

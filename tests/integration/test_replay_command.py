"""``headwater replay`` on the real broker and warehouse: a stopped sink is moved back to a
time and, started again, repairs rows that went wrong; an active group, a time older than the
topic keeps and an unknown topic are refused with the reason."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from control.replay import plan as replays
from headwater.kafka.clients import make_admin, make_producer
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.raw import RAW_RETENTION_MS, raw_topic, read_envelope
from headwater.settings import Settings
from headwater.topology import NORM_ADS
from sinks import ads
from sinks.runner import SinkRunner
from sinks.upsert import VersionedUpsertWriter
from stream_processors.ads.normalize import facebook_row, to_output
from tests.conftest import wait_for
from tests.support.running import Worker
from tests.support.services import headwater_with, kafka_env
from tests.support.sink_positions import start_at_end


def _ad(account: str, n: int, spend: str) -> tuple[bytes, bytes]:
    envelope = {
        "source": "facebook_ads",
        "stream": "insights",
        "account": f"act_{account}",
        "fetched_at": "2026-11-21T00:00:00+00:00",
        "payload": {
            "account_id": account,
            "account_currency": "EUR",
            "campaign_id": "1",
            "adset_id": "2",
            "ad_id": str(n),
            "impressions": "100",
            "clicks": "4",
            "spend": spend,
            "date_start": "2026-11-20",
        },
    }
    output = to_output(facebook_row(read_envelope(json.dumps(envelope).encode()), []))
    return output.key, output.value


@pytest.fixture
def schema(settings: Settings, unique_name: str) -> Iterator[str]:
    yield unique_name
    assert settings.warehouse.dsn is not None
    with psycopg.connect(settings.warehouse.dsn.get_secret_value()) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{unique_name}" CASCADE')


def test_a_replayed_sink_repairs_its_rows(settings: Settings, schema: str) -> None:
    assert settings.warehouse.dsn is not None
    dsn = settings.warehouse.dsn.get_secret_value()
    account = str(abs(hash(schema)) % 10**9)
    group = f"{schema}-sink"
    start_at_end(settings, group, NORM_ADS)  # this test's records only, not the topic's past
    producer = make_producer(settings.kafka)
    for n, spend in enumerate(["10.00", "20.00", "30.00"]):
        key, value = _ad(account, n, spend)
        producer.produce(NORM_ADS, value, key)
    assert producer.flush(30) == 0
    spec = dataclasses.replace(ads.AD_PERFORMANCE_DAILY, schema=schema)

    def sink() -> Worker[SinkRunner]:
        writer = VersionedUpsertWriter("ad-performance", spec)
        return Worker(SinkRunner(settings, writer, [NORM_ADS], group))

    def spends() -> list[Decimal]:
        with psycopg.connect(dsn) as connection:
            rows = connection.execute(
                f'SELECT spend FROM "{schema}".ad_performance_daily WHERE account_id = %s '
                "ORDER BY ad_id",
                (account,),
            ).fetchall()
        return [row[0] for row in rows]

    first = sink()
    try:
        wait_for(first.runner.assigned.is_set, timeout_s=60, what="the sink's partitions")
        wait_for(lambda: len(spends()) == 3, timeout_s=120, what="the three rows")
    finally:
        first.close()
    with psycopg.connect(dsn) as connection:  # rows gone wrong (a bad deploy, a manual edit)
        connection.execute(
            f'UPDATE "{schema}".ad_performance_daily SET spend = 0 WHERE account_id = %s',
            (account,),
        )
    env = {
        **kafka_env(settings.kafka),
        "HEADWATER_WAREHOUSE__DSN": dsn,
    }
    args = ("replay", "sink", "ad-performance", "--group-id", group, "--from", "15m")

    planned = headwater_with(*args, "--dry-run", env=env, timeout=120)
    assert planned.returncode == 0, planned.stderr
    assert f"{NORM_ADS}[" in planned.stdout
    assert "records to read again" in planned.stdout
    assert spends() == [0, 0, 0]

    rewound = headwater_with(*args, env=env, timeout=120)
    assert rewound.returncode == 0, rewound.stderr
    assert f"{group} rewound" in rewound.stdout
    second = sink()
    try:
        wait_for(lambda: spends() == [Decimal("10"), Decimal("20"), Decimal("30")],
                 timeout_s=120, what="the rows repaired by the replay")  # fmt: skip
        busy = headwater_with(*args, "--dry-run", env=env, timeout=120)
        assert busy.returncode == 2
        assert f"consumer group {group} is active" in busy.stderr
    finally:
        second.close()


def test_a_time_older_than_the_topic_keeps_is_refused(settings: Settings, unique_name: str) -> None:
    topic = raw_topic("facebook_ads", "insights")
    spec = TopicSpec(topic, settings.kafka.default_partitions, 1,
                     {"cleanup.policy": "delete", "retention.ms": RAW_RETENTION_MS})  # fmt: skip
    ensure_topics(make_admin(settings.kafka), [spec])
    env = {
        **kafka_env(settings.kafka),
        "HEADWATER_PROCESSOR__APP_ID": f"{unique_name}-processor",
    }
    result = headwater_with("replay", "processor", "--from", "400d", env=env, timeout=120)
    assert result.returncode == 2
    assert " keeps records for " in result.stderr  # the first topic checked that is too short
    assert "choose a later --from" in result.stderr


def test_an_unknown_topic_is_refused(settings: Settings) -> None:
    with pytest.raises(replays.ReplayRefused, match=r"topic no\.such\.topic does not exist"):
        replays.topics_matching(settings.kafka, ["no.such.topic"])

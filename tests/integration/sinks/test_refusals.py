"""A record the warehouse refuses never stops a sink: it goes to ``dlq.sink`` with its reason,
error class, coordinates and original headers, and every other record of its batch lands.

Real Kafka and PostgreSQL. The refusals are the real ones: a spend that overflows
``numeric(18,6)`` and an app event whose name holds a NUL byte.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import psycopg

from headwater.kafka.clients import make_producer
from headwater.settings import Settings
from sinks import ads, events
from sinks.rejects import TABLE as REJECTS
from sinks.runner import SinkRunner
from sinks.upsert import VersionedUpsertWriter
from stream_processors.ads.normalize import to_output as ad_output
from tests.conftest import wait_for
from tests.support.dead_letters import sink_dead_letters
from tests.support.norm_records import ad_record, ad_value, app_event_value
from tests.support.running import Worker

GOOD = 40


def _produce(settings: Settings, topic: str, values: list[bytes]) -> None:
    producer = make_producer(settings.kafka)
    for n, value in enumerate(values):
        producer.produce(topic, value, f"k{n}".encode(), headers=[("trace", f"t{n}".encode())])
    assert producer.flush(30) == 0


def _run_until_stored(runner: SinkRunner, warehouse: psycopg.Connection, topic: str) -> None:
    worker = Worker(runner)
    try:

        def stored() -> int | None:
            row = warehouse.execute(
                "SELECT next_offset FROM headwater.sink_offsets WHERE sink = %s AND topic = %s",
                (runner.group_id, topic),
            ).fetchone()
            warehouse.commit()
            return row[0] if row and row[0] >= GOOD + 2 else None

        wait_for(stored, timeout_s=60, what="the sink's offsets past the batch")
    finally:
        worker.close()


def test_refused_ad_rows_go_to_the_dlq_and_the_rest_lands(
    settings: Settings, warehouse: psycopg.Connection, topic: str, unique_name: str
) -> None:
    spend = [f"{n}.25" for n in range(GOOD)]
    values = [ad_value(n, s) for n, s in enumerate(spend)]
    # numeric(18,6) holds 12 digits before the point. The normalizer refuses such rows now;
    # these stand for rows another writer (or an older normalizer) left on the topic.
    values.insert(7, ad_output(ad_record(1007, spend="5000000000000000")).value)
    values.insert(31, ad_output(ad_record(1031, spend="-70000000000000")).value)
    _produce(settings, topic, values)
    spec = dataclasses.replace(ads.AD_PERFORMANCE_DAILY, schema=unique_name)
    runner = SinkRunner(settings, VersionedUpsertWriter("ad-performance", spec), [topic],
                        f"{unique_name}-sink")  # fmt: skip

    _run_until_stored(runner, warehouse, topic)

    landed = warehouse.execute(
        f'SELECT ad_id, spend FROM "{unique_name}".ad_performance_daily ORDER BY ad_id::int'
    ).fetchall()
    assert landed == [(str(n), Decimal(s)) for n, s in enumerate(spend)]
    letters = sink_dead_letters(settings, topic, 2)
    assert [(d["dlq.source.offset"], d["key"], d["trace"]) for d in letters] == [
        ("7", b"k7", "t7"),
        ("31", b"k31", "t31"),
    ]
    assert {d["dlq.error"] for d in letters} == {"NumericValueOutOfRange"}
    assert all("numeric field overflow" in d["dlq.reason"] for d in letters)
    assert {d["dlq.stage"] for d in letters} == {"sink.ad-performance"}
    assert letters[0]["value"] == values[7]
    unpublished = warehouse.execute(
        f"SELECT count(*) FROM {REJECTS.as_string(warehouse)} "
        "WHERE topic = %s AND published_at IS NULL",
        (topic,),
    ).fetchone()
    assert unpublished == (0,)


def test_a_retried_batch_publishes_each_dead_letter_once(
    settings: Settings, warehouse: psycopg.Connection, topic: str, unique_name: str
) -> None:
    names = [f"event {n}" for n in range(GOOD)]
    values = [app_event_value(n, name) for n, name in enumerate(names)]
    values.insert(3, app_event_value(1003, "nul\x00byte"))  # PostgreSQL text holds no NUL
    values.insert(20, app_event_value(1020, "also\x00nul"))
    _produce(settings, topic, values)
    spec = dataclasses.replace(events.APP_EVENTS, schema=unique_name)
    runner = SinkRunner(settings, VersionedUpsertWriter("app-events", spec, insert_only=True),
                        [topic], f"{unique_name}-sink")  # fmt: skip
    save = runner.offsets.save
    failures = iter([psycopg.OperationalError("connection lost (test)")])

    def save_failing_once(connection: psycopg.Connection, offsets: dict[Any, int]) -> None:
        save(connection, offsets)
        failure = next(failures, None)
        if failure is not None:  # after the rejects were kept: the whole batch is redone
            raise failure

    runner.offsets.save = save_failing_once  # type: ignore[method-assign]

    _run_until_stored(runner, warehouse, topic)

    landed = warehouse.execute(
        f'SELECT event_name FROM "{unique_name}".app_events ORDER BY occurred_at'
    ).fetchall()
    assert landed == [(name,) for name in names]
    letters = sink_dead_letters(settings, topic, 2)
    assert [d["dlq.source.offset"] for d in letters] == ["3", "20"]
    assert {d["dlq.error"] for d in letters} == {"DataError"}  # psycopg: text holds no NUL
    assert all("cannot contain NUL" in d["dlq.reason"] for d in letters)

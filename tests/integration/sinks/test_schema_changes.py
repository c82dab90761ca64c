"""The CDC mirror's DDL runs outside the batch transaction, bounded by a short lock timeout.

Real Kafka and PostgreSQL: the sink creates and alters its mirrors in transactions of their
own before it writes a batch, so a batch that is rolled back (a refused record, an outage)
never takes a created table or an added column with it, and a DDL that waits for a lock an
analyst's query holds gives up after ``HEADWATER_SINK__DDL_LOCK_TIMEOUT_S`` and is retried.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from headwater.kafka.clients import make_producer
from headwater.settings import Settings
from sinks.base import SinkRecord
from sinks.cdc.mirror import MirrorWriter
from sinks.runner import SinkRunner
from sinks.schema_changes import TableLocked
from tests.conftest import wait_for
from tests.support.debezium import ORDER_FIELDS, order_row
from tests.support.mirror import CdcFeed, write_batch
from tests.support.running import Worker


def _produce(settings: Settings, topic: str, records: list[SinkRecord]) -> None:
    producer = make_producer(settings.kafka)
    for record in records:
        producer.produce(topic, record.value, record.key)
    assert producer.flush(30) == 0


def _stored_offset(warehouse: psycopg.Connection, runner: SinkRunner, topic: str) -> int:
    row = warehouse.execute(
        "SELECT next_offset FROM headwater.sink_offsets WHERE sink = %s AND topic = %s",
        (runner.group_id, topic),
    ).fetchone()
    warehouse.commit()
    return int(row[0]) if row else 0


def test_a_new_mirror_survives_a_refused_record_in_its_first_batch(
    settings: Settings, warehouse: psycopg.Connection, topic: str, feed: CdcFeed, unique_name: str
) -> None:
    records = [
        *feed("c", after=order_row(1), lsn=10),
        *feed("c", after=order_row(2, notes="nul\x00byte"), lsn=20),  # text holds no NUL
        *feed("c", after=order_row(3), lsn=30),
    ]
    _produce(settings, topic, records)
    runner = SinkRunner(settings, MirrorWriter(settings), [topic], f"{unique_name}-sink")
    worker = Worker(runner)
    try:
        wait_for(
            lambda: _stored_offset(warehouse, runner, topic) >= 3,
            timeout_s=60,
            what="the sink's offsets past the first batch",
        )
    finally:
        worker.close()
    rows = warehouse.execute(f'SELECT id FROM "{unique_name}".src_orders ORDER BY id').fetchall()
    assert rows == [(1,), (3,)]
    rejected = warehouse.execute(
        'SELECT "offset", error FROM headwater.sink_rejects WHERE topic = %s',
        (topic,),
    ).fetchall()
    assert rejected == [(1, "DataError")]


def test_a_ddl_gives_up_its_lock_wait_and_succeeds_once_the_lock_is_gone(
    settings: Settings,
    warehouse: psycopg.Connection,
    feed: CdcFeed,
    mirror_writer: MirrorWriter,
    unique_name: str,
) -> None:
    write_batch(warehouse, mirror_writer, feed("c", after=order_row(1), lsn=10))
    wider = [*ORDER_FIELDS, {"type": "string", "optional": True, "field": "coupon"}]
    coupon = feed("c", after=order_row(2, coupon="BF"), lsn=20, fields=wider)
    assert settings.warehouse.dsn is not None
    with psycopg.connect(settings.warehouse.dsn.get_secret_value()) as analyst:
        analyst.execute(f'SELECT count(*) FROM "{unique_name}".src_orders')  # holds ACCESS SHARE
        started = time.monotonic()
        with pytest.raises(TableLocked, match="lock"):
            write_batch(warehouse, mirror_writer, coupon, lock_timeout_s=0.5)
        assert time.monotonic() - started < 5
        # Neither the batch's rows nor its column were written meanwhile.
        columns = warehouse.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND column_name = 'coupon'",
            (unique_name,),
        ).fetchall()
        assert columns == []
        assert warehouse.execute(f'SELECT id FROM "{unique_name}".src_orders').fetchall() == [(1,)]
        warehouse.rollback()
    write_batch(
        warehouse, mirror_writer, coupon
    )  # the analyst's transaction ended: the lock is free
    rows = warehouse.execute(
        f'SELECT id, coupon FROM "{unique_name}".src_orders ORDER BY id'
    ).fetchall()
    assert rows == [(1, None), (2, "BF")]

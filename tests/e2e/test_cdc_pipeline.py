"""CDC end to end: source PostgreSQL -> Debezium on Connect -> Faust -> warehouse mirrors.

Real Kafka, Connect with Debezium, PostgreSQL; the processor and the sink run as the
services an operator runs (`headwater process`, `headwater sink cdc`). During a randomized
workload of more than 10,000 changes the sink and the processor are killed with SIGKILL and
Kafka Connect is restarted; afterwards every mirror must equal its source table, row for
row and value for value, and a replay of norm.cdc.* must change nothing.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import TopicPartition

from control.stack.launcher import Stack
from headwater.kafka.clients import make_consumer, make_producer
from headwater.settings import Settings
from sandbox.workload import WorkloadStats, run_workload
from tests.conftest import wait_for
from tests.support.cdc import TABLES, Pipeline, cdc_pipeline
from tests.support.compare import mirror_checksum, source_in_warehouse

CHANGES = 12_000


@pytest.fixture
def pipeline(settings: Settings, tmp_path: Path) -> Iterator[Pipeline]:
    with cdc_pipeline(settings, tmp_path) as line:
        yield line


def _restart_connect(settings: Settings, line: Pipeline) -> None:
    stack = Stack(settings.stack)
    if stack.connect.running():  # our native stack: restart the worker process itself
        stack.connect.stop()
        stack.connect.start()
        wait_for(stack.connect.ready, timeout_s=180, what="Kafka Connect to come back")
    else:  # someone else's stack: restart the connector and its tasks
        line.run("connectors", "restart")
    line.run("connectors", "apply")  # waits until the connector and its task are RUNNING


def _dead_lettered(settings: Settings, topic: str) -> bool:
    """The malformed event is on dlq.normalize, with the reason and where it came from."""
    consumer = make_consumer(settings.kafka, group_id=f"probe-{uuid.uuid4().hex}")
    consumer.subscribe(["dlq.normalize"])
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            headers = {k: v for k, v in message.headers() or [] if v is not None}
            if headers.get("dlq.source.topic") == topic.encode():
                assert headers["dlq.reason"].startswith(b"value is not JSON")
                assert message.value() == b"{not json"
                return True
    finally:
        consumer.close()
    return False


def _topic_ranges(line: Pipeline, settings: Settings) -> dict[tuple[str, int], tuple[int, int]]:
    consumer = make_consumer(settings.kafka, group_id=f"{line.sink_group}-probe")
    try:
        ranges: dict[tuple[str, int], tuple[int, int]] = {}
        for topic in line.norm_topics():
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            for partition in metadata.partitions:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )
                ranges[(topic, partition)] = (low, high)
    finally:
        consumer.close()
    return ranges


def _replayed(line: Pipeline, settings: Settings) -> bool:
    """The restarted sink consumed every record again and stored offsets at the end."""
    ranges = _topic_ranges(line, settings)
    total = sum(high - low for low, high in ranges.values())
    if line.sink.metric("headwater_sink_records_total") < total:
        return False
    with psycopg.connect(line.warehouse_dsn) as warehouse:
        stored = {
            (topic, partition): offset
            for topic, partition, offset in warehouse.execute(
                "SELECT topic, partition, next_offset FROM headwater.sink_offsets WHERE sink = %s",
                (line.sink_group,),
            ).fetchall()
        }
    return all(stored.get(tp, 0) >= high for tp, (_, high) in ranges.items())


def test_mirror_equals_source_through_faults_and_replay(
    pipeline: Pipeline, settings: Settings
) -> None:
    line = pipeline
    line.run("source", "setup")
    line.processor.start()
    line.sink.start()
    line.run("connectors", "apply")
    wait_for(line.sink.ready, timeout_s=120, what=f"sink ready:\n{line.sink.log_tail()}")

    stop = threading.Event()
    result: dict[str, Any] = {}

    def workload() -> None:
        result["stats"] = run_workload(
            line.source_dsn, rate=900, changes=CHANGES, seed=23, schema=line.schema, stop=stop
        )

    thread = threading.Thread(target=workload, name="workload")
    thread.start()
    try:
        # Kill -9 the sink while it is writing batches, and start it again.
        written = lambda: line.sink.metric("headwater_sink_rows_total", action="written") > 500  # noqa: E731
        wait_for(written, timeout_s=120, what=f"sink writing:\n{line.sink.log_tail()}")
        line.sink.kill()
        line.sink.start()
        # Kill -9 the Faust worker mid-stream, and start it again.
        out = lambda: line.processor.metric("headwater_processor_records_out_total") > 1_000  # noqa: E731
        wait_for(out, timeout_s=120, what=f"processor busy:\n{line.processor.log_tail()}")
        line.processor.kill()
        line.processor.start()
        # Restart Kafka Connect under the running connector.
        _restart_connect(settings, line)
    finally:
        thread.join(timeout=600)
        stop.set()
    stats: WorkloadStats = result["stats"]
    assert stats.changes >= 10_000
    assert stats.total().deletes > 0
    assert sum(len(ids) for ids in stats.reinserted.values()) > 0

    # A malformed event on a CDC topic goes to the DLQ; the stream goes on.
    cdc_topic = f"{settings.cdc.topic_prefix}.{line.schema}.orders"
    producer = make_producer(settings.kafka)
    producer.produce(cdc_topic, key=b'{"payload": {"id": -1}}', value=b"{not json")
    assert producer.flush(30) == 0
    # A nullable column added at the source reaches the mirror without a restart; a
    # primary-key change arrives as delete + insert; a truncate empties the mirror too.
    schema = line.schema
    with psycopg.connect(line.source_dsn, autocommit=True) as source:
        source.execute(f'ALTER TABLE "{schema}".customers ADD COLUMN nickname text')
        source.execute(f"UPDATE \"{schema}\".customers SET nickname = 'n' || id WHERE id % 5 = 0")
        source.execute(f'TRUNCATE "{schema}".orders')
        first = f'(SELECT min(id) FROM "{schema}".customers)'
        source.execute(f'UPDATE "{schema}".customers SET id = id + 10000000 WHERE id = {first}')
    run_workload(line.source_dsn, rate=None, changes=500, seed=29, schema=schema)

    with source_in_warehouse(line.warehouse_dsn, line.source_dsn, line.schema, TABLES) as foreign:
        wait_for(
            lambda: line.mirrors_equal(foreign),
            timeout_s=300,
            interval_s=2,
            what=f"mirrors equal to the source\nsink:\n{line.sink.log_tail()}\n"
            f"processor:\n{line.processor.log_tail()}",
        )
        # Replaying norm.cdc.* from the beginning leaves the mirrors unchanged.
        assert line.sink.stop() < 30
        with psycopg.connect(line.warehouse_dsn) as warehouse:
            before = {t: mirror_checksum(warehouse, line.schema, t) for t in TABLES}
        line.sink.start("--from-beginning")
        wait_for(lambda: _replayed(line, settings), timeout_s=300, interval_s=2, what="replay")
        assert line.sink.stop() < 30
        with psycopg.connect(line.warehouse_dsn) as warehouse:
            after = {t: mirror_checksum(warehouse, line.schema, t) for t in TABLES}
        assert after == before
        assert line.mirrors_equal(foreign)
    assert _dead_lettered(settings, cdc_topic)
    assert line.processor.stop() < 30  # SIGTERM: finish, commit, exit

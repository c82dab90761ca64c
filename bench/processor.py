"""Processor throughput per worker, against a bare consume -> transform -> produce loop.

    make stack-up && .venv/bin/python bench/run.py --only processor

Two inputs, each pre-filled on its own topics (``--records``, default 200,000):

- cdc: real Debezium envelopes (``bench/data/debezium_envelope.json``: a change of the demo
  application's ``orders`` table, 21 columns, 14 KB with its schema, as Debezium 3.6 wrote
  it on the local stack), the id, LSN, transaction and item count varied per record;
- ads: raw Facebook Insights envelopes as the poller publishes them.

For each: the processor's batch runner (``stream_processors.runner``, the code
``headwater process`` runs) with 1 worker, then 2 worker processes in one group, from
the first record to the last committed offset; and, in the same minute, the baseline: a
bare confluent-kafka loop that consumes, runs the very same transform and produces, with
nothing else (no dead letters, no delivery checks, no commits). Outputs go to the run's own
topics, never to the shared norm.* topics.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Result, median_of
from headwater.kafka.clients import make_admin, make_consumer, make_producer
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.settings import Settings, load_settings
from stream_processors.ads.normalize import facebook
from stream_processors.base import NORMALIZE, Incoming, Stage, TransformStage
from stream_processors.cdc.normalize import normalize
from stream_processors.output import Output
from stream_processors.runner import CONSUMER, PARTITIONER, PRODUCER, BatchRunner

RECORDS = int(os.environ.get("BENCH_RECORDS", "200000"))
PARTITIONS = 6
TEMPLATE = Path(__file__).parent / "data" / "debezium_envelope.json"


def _debezium_records(count: int) -> list[tuple[bytes, bytes]]:
    template = json.loads(TEMPLATE.read_text())
    key, value = template["key"], template["value"]
    schema_bytes = orjson.dumps(value["schema"])
    records = []
    for n in range(count):
        payload = copy.deepcopy(value["payload"])
        payload["after"]["id"] = n
        payload["source"]["lsn"] = 10_000_000 + n
        payload["source"]["txId"] = 1000 + n // 10
        payload["after"]["item_count"] = n % 100
        k = {"id": n} if "payload" not in key else dict(key, payload={"id": n})
        records.append(
            (
                orjson.dumps(k),
                b'{"schema":' + schema_bytes + b',"payload":' + orjson.dumps(payload) + b"}",
            )
        )
    return records


def _ads_records(count: int) -> list[tuple[bytes, bytes]]:
    records = []
    for n in range(count):
        row = {
            "account_id": "1234567",
            "account_name": "Bench account",
            "account_currency": "EUR",
            "campaign_id": str(23850000 + n % 50),
            "campaign_name": f"Campaign {n % 50}",
            "adset_id": str(23860000 + n % 500),
            "adset_name": f"Ad set {n % 500}",
            "ad_id": str(23870000 + n),
            "ad_name": f"Ad {n}",
            "date_start": f"2026-11-{1 + n % 28:02d}",
            "date_stop": f"2026-11-{1 + n % 28:02d}",
            "impressions": str(1000 + n % 9000),
            "clicks": str(n % 300),
            "spend": str(Decimal(n % 100_000) / 100),
            "actions": [{"action_type": "purchase", "value": str(n % 7)}],
            "action_values": [{"action_type": "purchase", "value": str(n % 700)}],
        }
        envelope = {
            "source": "facebook_ads",
            "stream": "insights",
            "account": "act_1234567",
            "fetched_at": "2026-11-28T06:00:00.000000+00:00",
            "api_version": "v23.0",
            "request": {"since": "2026-11-01", "until": "2026-11-28"},
            "payload": row,
        }
        records.append((row["ad_id"].encode(), orjson.dumps(envelope)))
    return records


def _fill(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    ensure_topics(make_admin(settings.kafka), [TopicSpec(topic, PARTITIONS, 1, {})])
    producer = make_producer(settings.kafka, **{"linger.ms": 50, "partitioner": PARTITIONER})
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.2)
    if producer.flush(120):
        raise RuntimeError(f"could not fill {topic}")


class _Renamed(Stage):
    """A stage whose outputs go to the run's own topic, not the shared one."""

    def __init__(self, stage: Stage, source: str, target: str) -> None:
        self.name, self.label, self.sources = stage.name, "bench", (source,)
        self._stage, self._target = stage, target

    def process(self, record: Incoming) -> list[Output]:
        """The stage's outputs, renamed."""
        return [replace(o, topic=self._target) for o in self._stage.process(record)]


def _stage(case: str, settings: Settings, source: str, target: str) -> Stage:
    if case == "cdc":
        inner: Stage = TransformStage(
            "normalize_cdc", NORMALIZE, [source], lambda _t, k, v: normalize(k, v)
        )
    else:
        inner = TransformStage("normalize_facebook_ads", NORMALIZE, [source], facebook(settings))
    return _Renamed(inner, source, target)


def _committed_all(settings: Settings, group: str, topic: str, total: int) -> bool:
    consumer = make_consumer(settings.kafka, group)
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        done = sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()
    return done >= total


def _worker(case: str, source: str, target: str, group: str, until: float) -> None:
    settings = load_settings()
    settings = settings.model_copy(
        update={"processor": settings.processor.model_copy(update={"app_id": group})}
    )
    runner = BatchRunner(settings, [_stage(case, settings, source, target)])
    stop = threading.Event()
    threading.Timer(max(0.0, until - time.time()), stop.set).start()
    runner.run(stop)


def _runner_rate(case: str, source: str, target: str, total: int, workers: int) -> float:
    settings = load_settings()
    group = f"bench-proc-{uuid.uuid4().hex[:8]}"
    until = time.time() + 600
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(case, source, target, group, until), daemon=True)
        for _ in range(workers)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    while not _committed_all(settings, group, source, total):
        if time.perf_counter() - started > 600:
            raise RuntimeError("the processor did not finish within 10 minutes")
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    for process in processes:
        process.terminate()
        process.join(10)
    return total / elapsed


def _bare_loop(case: str, source: str, target: str, total: int, rates: Any) -> None:
    """Consume, the same transform, produce: nothing else (in its own process, with the
    runner's client settings, like a worker)."""
    settings = load_settings()
    stage = _stage(case, settings, source, target)
    consumer = make_consumer(settings.kafka, f"bench-bare-{uuid.uuid4().hex[:8]}", **CONSUMER)
    producer = make_producer(settings.kafka, **PRODUCER)
    consumer.subscribe([source])
    seen = 0
    started = time.perf_counter()
    while seen < total:
        for message in consumer.consume(5000, 0.1):
            if message.error():
                continue
            seen += 1
            record = Incoming(source, message.partition() or 0, message.offset() or 0,
                              message.key(), message.value())  # fmt: skip
            for output in stage.process(record):
                while True:
                    try:
                        producer.produce(
                            output.topic, output.value, output.key, headers=output.headers
                        )
                        break
                    except BufferError:
                        producer.poll(0.1)
        producer.poll(0)
    producer.flush(60)
    rates.put(total / (time.perf_counter() - started))
    consumer.close()


def _bare_rate(case: str, source: str, target: str, total: int) -> float:
    context = multiprocessing.get_context("spawn")
    rates = context.Queue()
    process = context.Process(target=_bare_loop, args=(case, source, target, total, rates))
    process.start()
    rate = float(rates.get(timeout=600))
    process.join(30)
    return rate


def _case(case: str, make: Callable[[int], list[tuple[bytes, bytes]]]) -> list[Result]:
    settings = load_settings()
    tag = uuid.uuid4().hex[:8]
    source, target = f"bench.{case}.{tag}.in", f"bench.{case}.{tag}.out"
    _fill(settings, source, make(RECORDS))
    ensure_topics(make_admin(settings.kafka), [TopicSpec(target, PARTITIONS, 1, {})])
    try:
        bare = median_of(
            lambda: _bare_rate(case, source, target, RECORDS),
            warmup=lambda: _bare_rate(case, source, target, RECORDS),
        )
        one = median_of(lambda: _runner_rate(case, source, target, RECORDS, 1))
        two = median_of(lambda: _runner_rate(case, source, target, RECORDS, 2))
    finally:
        make_admin(settings.kafka).delete_topics([source, target])
    notes = f"{RECORDS:,} records on {PARTITIONS} partitions"
    return [
        Result(f"processor {case}, bare loop", bare, "records/s", notes=notes),
        Result(f"processor {case}, 1 worker", one, "records/s", bare, "bare loop", notes),
        Result(f"processor {case}, 2 workers", two, "records/s", one, "1 worker", notes),
    ]


def cases() -> list[Result]:
    """The processor's figures for the CDC and the ads inputs."""
    return _case("cdc", _debezium_records) + _case("ads", _ads_records)

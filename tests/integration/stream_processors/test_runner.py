"""The processor's batch runner on the real broker: nothing skipped, nothing lost.

Every record either produces its outputs, or goes to the DLQ with a reason, or is not
committed; a backlog that exists when workers start or join is read whole, by the running
workers, without a restart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer

from headwater.avro import SCHEMA_HEADER, record_reader
from headwater.kafka.clients import make_admin, make_producer
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.settings import Settings
from stream_processors.base import Stage, TransformStage
from stream_processors.kpis.contributions import ORDERS, Contribution, KpiKey
from stream_processors.kpis.fold import KpiFold
from stream_processors.metrics import BATCH_FAILURES
from stream_processors.output import Output
from stream_processors.runner import BatchRunner
from tests.conftest import wait_for
from tests.support.kafka_io import committed, fill, read_all
from tests.support.running import Worker

PARTITIONS = 3


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def topics(settings: Settings, tag: str) -> Iterator[Callable[[str], str]]:
    made: list[str] = []

    def make(role: str, partitions: int = PARTITIONS, compacted: bool = False) -> str:
        name = f"test.runner.{tag}.{role}"
        spec = (
            TopicSpec.compacted(name, partitions, 1)
            if compacted
            else TopicSpec(name, partitions, 1, {})
        )
        ensure_topics(make_admin(settings.kafka), [spec])
        made.append(name)
        return name

    yield make
    make_admin(settings.kafka).delete_topics(made)


def _settings(settings: Settings, group: str) -> Settings:
    processor = settings.processor.model_copy(update={"app_id": group})
    return settings.model_copy(update={"processor": processor})


def _fill(
    settings: Settings,
    topic: str,
    records: list[tuple[bytes, bytes]],
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    fill(settings, topic, [(key, value, headers or []) for key, value in records])


def _echo(target: str) -> Callable[[str, bytes | None, bytes | None], list[Output]]:
    def transform(_topic: str, key: bytes | None, value: bytes | None) -> list[Output]:
        assert key is not None
        assert value is not None
        number = json.loads(value)["amount"]
        amount = Decimal(number)  # "1e30" works, "x" raises InvalidOperation
        if amount.is_zero():
            raise ZeroDivisionError("division by zero")  # an exception nobody lists
        return [Output(target, key, str(amount).encode())]

    return transform


def test_any_exception_is_a_dead_letter_naming_it_and_the_rest_flows(
    settings: Settings, topics: Callable[..., str], tag: str
) -> None:
    source, target = topics("in"), topics("out")
    group = f"test-runner-{tag}"
    amounts = [str(n) for n in range(1, 200)] + ["x", "0", "1e30"]
    writer = (SCHEMA_HEADER, b"headwater.test.Amount@00000000000000a1")
    _fill(settings, source, [(f"k{i}".encode(), json.dumps({"amount": a}).encode())
                             for i, a in enumerate(amounts)], [writer])  # fmt: skip
    label = f"test{tag}"
    dlq = f"dlq.{label}"
    ensure_topics(make_admin(settings.kafka), [TopicSpec(dlq, 1, 1, {})])
    stage = TransformStage("echo", label, [source], _echo(target))
    worker = Worker(BatchRunner(_settings(settings, group), [stage]))
    try:
        wait_for(lambda: committed(settings, group, source, PARTITIONS) == len(amounts),
                 timeout_s=60, what="every record committed")  # fmt: skip
    finally:
        worker.close()
    dead = read_all(settings, dlq)
    make_admin(settings.kafka).delete_topics([dlq])
    outputs = {m.key(): m.value() for m in read_all(settings, target, PARTITIONS)}
    assert len(outputs) == len(amounts) - 2
    assert outputs[f"k{len(amounts) - 1}".encode()] == b"1E+30"
    assert sorted(m.key() for m in dead) == [b"k199", b"k200"]
    reasons = {m.key(): dict(m.headers() or [])["dlq.reason"].decode() for m in dead}
    assert reasons[b"k199"].startswith(InvalidOperation.__name__)
    assert reasons[b"k200"] == "ZeroDivisionError: division by zero"
    headers = dict(next(m for m in dead if m.key() == b"k200").headers() or [])
    assert headers["dlq.source.topic"].decode() == source
    assert headers["dlq.stage"] == label.encode()
    assert headers[SCHEMA_HEADER] == writer[1]  # the record's own headers stay with it


class FlakyProducer:
    """A real producer whose deliveries of one key fail while ``failing`` is set."""

    def __init__(self, real: Producer, poison: bytes) -> None:
        self.real, self.poison, self.failing, self.failed = real, poison, True, 0

    def produce(self, topic: str, value: Any, key: Any, **options: Any) -> None:
        callback = options.pop("on_delivery")
        if key == self.poison and self.failing:
            self.failed += 1
            error = KafkaError(KafkaError._MSG_TIMED_OUT, "injected delivery failure")
            self.real.produce(topic, value, key, **options)  # it may land: a duplicate later
            callback(error, _FakeMessage(topic))
            return
        self.real.produce(topic, value, key, on_delivery=callback, **options)

    def flush(self, timeout: float) -> int:
        return int(self.real.flush(timeout))

    def poll(self, timeout: float) -> int:
        return int(self.real.poll(timeout))


class _FakeMessage:
    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return 0


def test_a_failed_delivery_commits_nothing_until_it_succeeds(
    settings: Settings, topics: Callable[..., str], tag: str
) -> None:
    source, target = topics("in", partitions=1), topics("out")
    group = f"test-runner-{tag}"
    records = [(f"k{i}".encode(), json.dumps({"amount": str(i + 1)}).encode()) for i in range(100)]
    _fill(settings, source, records)
    stage = TransformStage("echo", "runnertest", [source], _echo(target))
    flaky: list[FlakyProducer] = []

    def producer(kafka: Any, **overrides: Any) -> Any:
        flaky.append(FlakyProducer(make_producer(kafka, **overrides), poison=b"k50"))
        return flaky[0]

    failures_before = BATCH_FAILURES._value.get()
    worker = Worker(BatchRunner(_settings(settings, group), [stage], producer_factory=producer,
                                batch_size=20))  # fmt: skip
    try:
        wait_for(lambda: flaky and flaky[0].failed >= 3, timeout_s=60, what="three failed tries")
        # the batch holding k50 is tried again and again: its offsets are never committed
        assert committed(settings, group, source, PARTITIONS) <= 50
        assert BATCH_FAILURES._value.get() - failures_before >= 3
        flaky[0].failing = False
        wait_for(lambda: committed(settings, group, source, PARTITIONS) == 100, timeout_s=90,
                 what="everything committed once deliveries succeed")  # fmt: skip
    finally:
        worker.close()
    outputs = {m.key() for m in read_all(settings, target, PARTITIONS)}
    assert outputs == {key for key, _ in records}


def _contribution(n: int) -> Contribution:
    row = KpiKey("2026-11-20", "facebook", str(n % 7))
    values = {"orders": "1", "revenue": f"{n % 100}.25"}
    return Contribution(row, ORDERS, f"order-{n % 900}", n, values)


def test_a_backlog_is_read_whole_by_starting_and_joining_workers_and_state_moves_with_it(
    settings: Settings, topics: Callable[..., str], tag: str
) -> None:
    """Stateless and stateful stages alike: 12,000 records waiting when the first worker
    starts; a second worker joins while it works; a third replaces the first."""
    raw, echoed = topics("raw"), topics("echoed")
    contributions, kpis = topics("contributions"), topics("kpis")
    group = f"test-runner-{tag}"
    runner_settings = _settings(settings, group)
    changelog = f"{group}-kpi_rows-changelog"
    ensure_topics(make_admin(settings.kafka), [TopicSpec.compacted(changelog, PARTITIONS, 1)])
    raws = [(f"r{i}".encode(), json.dumps({"amount": str(i + 1)}).encode()) for i in range(6000)]
    made = [_contribution(n) for n in range(6000)]
    _fill(settings, raw, raws)
    _fill(settings, contributions, [(c.key.encode(), c.encode()) for c in made])

    def stages() -> list[Stage]:
        echo = TransformStage("echo", "runnertest", [raw], _echo(echoed))
        return [echo, KpiFold(runner_settings, source=contributions, output=kpis)]

    first = Worker(BatchRunner(runner_settings, stages(), batch_size=500))
    wait_for(
        lambda: committed(settings, group, raw, PARTITIONS) > 0, timeout_s=60, what="first batches"
    )
    second = Worker(BatchRunner(runner_settings, stages(), batch_size=500))
    wait_for(lambda: second.runner.assigned, timeout_s=60, what="the second worker's partitions")
    first.close()  # its partitions move to the others, state and all
    third = Worker(BatchRunner(runner_settings, stages(), batch_size=500))
    try:
        wait_for(
            lambda: (
                committed(settings, group, raw, PARTITIONS) == len(raws)
                and committed(settings, group, contributions, PARTITIONS) == len(made)
            ),
            timeout_s=120,
            what="the whole backlog committed by the running workers",
        )
    finally:
        second.close()
        third.close()
    assert {m.key() for m in read_all(settings, echoed, PARTITIONS)} == {key for key, _ in raws}
    latest: dict[bytes, dict[str, Any]] = {}
    read = record_reader("metrics/campaign_kpis_daily")
    for message in read_all(settings, kpis, PARTITIONS):
        latest[message.key() or b""] = read(message.value() or b"", message.headers() or [])
    expected: dict[str, dict[str, Any]] = {}
    for c in made:  # the latest version of each order, per row
        expected.setdefault(c.key.campaign_id, {})[c.identity] = c
    for campaign, orders in expected.items():
        row = latest[KpiKey("2026-11-20", "facebook", campaign).encode()]
        assert row["orders"] == len(orders)
        revenue = sum(
            (Decimal(c.values["revenue"]) for c in orders.values() if c.values), Decimal(0)
        )
        assert Decimal(row["revenue"]) == revenue

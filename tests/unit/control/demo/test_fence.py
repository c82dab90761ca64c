"""The end-of-run fence: recognized in Debezium's change events, watched for incrementally."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from control.demo.fence import Fence, FenceWatch
from control.demo.positions import Partition
from control.demo.reconcile import Range, Record

TOPIC = "cdc.app.shop.customers"


def debezium(txid: int, with_schema: bool = True, lsn: int = 987_654) -> bytes:
    """A Debezium change event of the customers table, as the JsonConverter writes it."""
    payload = {
        "before": None,
        "after": {"id": 1, "email": "a@example.com"},
        "source": {"connector": "postgresql", "schema": "shop", "table": "customers",
                   "txId": txid, "lsn": lsn},
        "op": "u",
    }  # fmt: skip
    document = {"schema": {"type": "struct"}, "payload": payload} if with_schema else payload
    return json.dumps(document, separators=(",", ":")).encode()


def test_the_fence_is_the_change_event_of_its_transaction_on_its_topic() -> None:
    fence = Fence(TOPIC, 1234)

    assert fence.matches(Record(TOPIC, 0, 7, b"k", debezium(1234)))
    assert fence.matches(Record(TOPIC, 0, 7, b"k", debezium(1234, with_schema=False)))
    assert not fence.matches(Record(TOPIC, 0, 7, b"k", debezium(12345)))  # digits, not the id
    assert not fence.matches(Record(TOPIC, 0, 7, b"k", debezium(99, lsn=1234)))
    assert not fence.matches(Record("cdc.app.shop.orders", 0, 7, b"k", debezium(1234)))
    assert not fence.matches(Record(TOPIC, 0, 7, b"k", None))  # a tombstone
    assert not fence.matches(Record(TOPIC, 0, 7, b"k", b"not json 1234"))


class FakeTopic:
    """A topic's partitions as Positions and RangeReader see them."""

    def __init__(self) -> None:
        self.records: dict[Partition, list[bytes]] = {(TOPIC, 0): [], (TOPIC, 1): []}
        self.reads: list[dict[Partition, Range]] = []

    def ends(self, topics: Iterable[str]) -> dict[Partition, int]:
        assert list(topics) == [TOPIC]
        return {tp: len(values) for tp, values in self.records.items()}

    def read(self, ranges: dict[Partition, Range], visit: Callable[[Record], None]) -> None:
        self.reads.append(ranges)
        for (topic, partition), (start, end) in ranges.items():
            for offset in range(start, end):
                value = self.records[(topic, partition)][offset]
                visit(Record(topic, partition, offset, b"k", value))


def test_the_watch_reads_only_what_is_new_and_stops_once_it_saw_the_fence() -> None:
    topic = FakeTopic()
    topic.records[(TOPIC, 0)] += [debezium(10), debezium(11)]  # before the fence was written
    watch = FenceWatch(Fence(TOPIC, 42), topic, topic, start=topic.ends([TOPIC]))  # type: ignore[arg-type]

    topic.records[(TOPIC, 1)] += [debezium(12)]  # Debezium still publishing the workload's
    assert not watch.seen()
    topic.records[(TOPIC, 0)] += [debezium(13), debezium(42)]
    assert watch.seen()
    assert watch.seen()

    assert topic.reads == [
        {(TOPIC, 0): (2, 2), (TOPIC, 1): (0, 1)},
        {(TOPIC, 0): (2, 4), (TOPIC, 1): (1, 1)},
    ]

"""The reconciliation's ledger: every record of a source is accounted for or pending."""

from __future__ import annotations

from control.demo.fence import Fence
from control.demo.reconcile import (
    Evidence,
    Ledger,
    Reconciliation,
    Record,
    Snapshot,
    SourceCount,
    digest,
)
from control.demo.sources import DemoSource
from stream_processors.output import Output

INPUT = "cdc.shop.orders"
OUTPUT = "norm.cdc.shop.orders"
RAW = "raw.facebook_ads.insights"


def _normalize(topic: str, key: bytes | None, value: bytes | None) -> list[Output]:
    """Upper-cases a value; a tombstone becomes nothing; b"garbage" cannot be read."""
    if value is None:
        return []
    if value == b"garbage":
        raise ValueError("cannot read the record")
    return [Output(OUTPUT, key or b"", value.upper())]


CDC = DemoSource("app database", (INPUT,), (OUTPUT,), "cdc", _normalize)


def _records(values: list[bytes | None], topic: str = INPUT) -> list[Record]:
    return [Record(topic, 0, offset, b"k%d" % offset, v) for offset, v in enumerate(values)]


def _normalized(records: list[Record]) -> Evidence:
    """The processor normalized these records, in order, to offsets 0.. of the output."""
    evidence = Evidence()
    produced = [o for r in records for o in _normalize(r.topic, r.key, r.value)]
    for offset, output in enumerate(produced):
        evidence.remember(Record(output.topic, 0, offset, output.key, output.value))
    return evidence


def _count(
    records: list[Record],
    consumed: int,
    evidence: Evidence,
    landed: int,
    source: DemoSource = CDC,
) -> SourceCount:
    """Run the ledger as the reconciliation does: over the partition from an empty start."""
    topic = source.inputs[0]
    before = Snapshot(ends={(topic, 0): 0}, consumed={(topic, 0): 0})
    after = Snapshot(ends={(topic, 0): len(records)}, consumed={(topic, 0): consumed})
    ledger = Ledger(source, before, after, evidence, {(OUTPUT, 0): landed})
    assert ledger.ranges == {(topic, 0): (0, len(records))}  # the unread ones are read back
    for record in records:
        ledger.visit(record)
    return ledger.count


def test_records_the_processor_did_not_consume_are_pending_not_accounted_for() -> None:
    records = _records([b"a", b"b", b"c", b"d", b"e"])
    count = _count(records, consumed=3, evidence=_normalized(records[:3]), landed=3)

    assert (count.pulled, count.consumed, count.normalized, count.landed) == (5, 3, 3, 3)
    assert count.holds  # in = normalized + rejected + filtered over what was read ...
    assert count.unread == 2  # ... but two records were read by nobody
    assert count.pending == 2
    assert not count.accounted_for
    result = Reconciliation([count])
    assert result.holds
    assert result.pending == 2
    assert not result.accounted_for


def test_a_source_nobody_read_at_all_is_entirely_pending() -> None:
    records = _records([b"a", b"b", None])
    count = _count(records, consumed=0, evidence=Evidence(), landed=0)

    assert (count.pulled, count.consumed, count.unread) == (3, 0, 3)
    assert not count.accounted_for


def test_normalized_records_the_sink_has_not_landed_are_pending() -> None:
    records = _records([b"a", b"b", b"c"])
    count = _count(records, consumed=3, evidence=_normalized(records), landed=1)

    assert (count.normalized, count.landed, count.unlanded, count.unread) == (3, 1, 2, 0)
    assert count.pending == 2
    assert not count.accounted_for


def test_every_record_read_normalized_filtered_or_dead_lettered_and_landed_is_accounted_for() -> (
    None
):
    records = _records([b"a", None, b"garbage", b"d"])
    evidence = _normalized([records[0], records[3]])
    evidence.rejected.add((INPUT, 0, 2))  # the processor dead-lettered the garbage
    evidence.sink_rejected.add((OUTPUT, 0, 1))  # and the sink the normalized "d"
    count = _count(records, consumed=4, evidence=evidence, landed=1)

    assert count.pulled == count.consumed == 4
    assert (count.normalized, count.rejected, count.filtered) == (2, 1, 1)
    assert (count.landed, count.sink_rejected, count.pending) == (1, 1, 0)
    assert count.accounted_for
    assert Reconciliation([count]).accounted_for


def test_a_consumed_record_neither_dead_lettered_nor_normalized_breaks_the_reconciliation() -> None:
    records = _records([b"a", b"garbage", b"c"])
    count = _count(records, consumed=3, evidence=_normalized([records[0]]), landed=1)

    assert count.unaccounted == [(INPUT, 0, 1), (INPUT, 0, 2)]
    assert not count.holds
    assert count.difference == 2
    assert not count.accounted_for


def test_only_this_runs_records_left_unread_are_pending() -> None:
    def envelope(account: str) -> bytes:
        return b'{"account": "act_%s", "record": {}}' % account.encode()

    facebook = DemoSource(
        "facebook_ads", (RAW,), (OUTPUT,), "ad-performance", _normalize, frozenset({"1"})
    )
    records = _records([envelope("1"), envelope("2"), envelope("1"), envelope("2")], RAW)
    count = _count(records, 2, _normalized(records[:2]), landed=2, source=facebook)

    assert count.pulled == 2  # another run's account is not pulled by this one
    assert count.consumed == 2  # but what the processor read is reconciled, whoever wrote it
    assert count.unread == 1  # the other run's unread record is not this run's to account for
    assert not count.accounted_for


def test_digest_tells_a_tombstone_from_an_empty_value() -> None:
    assert digest(OUTPUT, b"k", None) != digest(OUTPUT, b"k", b"")
    assert digest(OUTPUT, b"k", b"v") == digest(OUTPUT, b"k", b"v")


def _fenced(records: list[Record], fence: Fence, consumed: int, landed: int) -> SourceCount:
    before = Snapshot(ends={(INPUT, 0): 0}, consumed={(INPUT, 0): 0})
    after = Snapshot(ends={(INPUT, 0): len(records)}, consumed={(INPUT, 0): consumed})
    evidence = _normalized(records[:consumed])
    ledger = Ledger(CDC, before, after, evidence, {(OUTPUT, 0): landed}, fence)
    for record in records:
        ledger.visit(record)
    return ledger.count


def _change(txid: int) -> bytes:
    return b'{"payload":{"op":"u","source":{"txId":%d}}}' % txid


def test_a_source_whose_fence_never_arrived_is_behind_even_if_all_it_published_landed() -> None:
    # Debezium published only part of the run (here: not the fence transaction 77).
    records = _records([_change(70), _change(71)])
    count = _fenced(records, Fence(INPUT, 77), consumed=2, landed=2)

    assert count.holds
    assert count.pending == 0
    assert count.source_behind
    assert not count.accounted_for
    assert not Reconciliation([count]).accounted_for


def test_a_source_whose_fence_was_published_read_and_landed_is_accounted_for() -> None:
    records = _records([_change(70), _change(71), _change(77)])
    count = _fenced(records, Fence(INPUT, 77), consumed=3, landed=3)

    assert not count.source_behind
    assert count.accounted_for


def test_a_fence_on_another_sources_topic_does_not_concern_this_source() -> None:
    records = _records([_change(70)])
    count = _fenced(records, Fence("cdc.shop.customers", 77), consumed=1, landed=1)

    assert not count.source_behind
    assert count.accounted_for

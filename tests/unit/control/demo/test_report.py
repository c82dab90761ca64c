"""The closing summary: the claim "every record accounted for" is computed, never assumed."""

from __future__ import annotations

from control.demo.reconcile import Reconciliation, SourceCount
from control.demo.report import reconciliation_lines, verdict

CLAIM = "demo finished: every record accounted for"


def _cdc(**figures: int | bool) -> SourceCount:
    count = SourceCount("app database", "cdc")
    for name, value in figures.items():
        setattr(count, name, value)
    return count


def _ads() -> SourceCount:
    figures = {"pulled": 40, "consumed": 40, "normalized": 40, "landed": 40}
    return SourceCount("facebook_ads", "ad-performance", **figures)


def test_the_measured_run_with_unread_records_does_not_claim_every_record_accounted_for() -> None:
    # 19,970 records pulled, 1,909 of them never read by the processor: what a fresh clone did.
    behind = _cdc(
        pulled=19_970,
        consumed=18_061,
        normalized=16_000,
        filtered=2_061,
        landed=16_000,
        unread=1_909,
    )
    result = Reconciliation([behind, _ads()])

    last, status = verdict(result, [])
    lines = reconciliation_lines(result)

    assert status == 1
    assert last != CLAIM
    assert "every record accounted for" not in last
    assert "1,909 records pending (app database 1,909)" in last
    assert "  every source reconciles" not in lines
    assert "    app database: 1,909 not read by the processor" in lines
    assert lines[2].startswith("  app database     19,970   1,909   18,061")
    assert lines[2].endswith("18,061 = 16,000 + 0 + 2,061  pending 1,909")
    assert not any(line.startswith("    facebook_ads") for line in lines)


def test_pending_is_reported_per_source_and_per_stage() -> None:
    result = Reconciliation(
        [
            _cdc(pulled=10, consumed=8, normalized=8, landed=5, unlanded=3, unread=2),
            SourceCount("clevertap", "app-events", pulled=4, consumed=4, normalized=4, unlanded=4),
        ]
    )

    lines = reconciliation_lines(result)
    last, status = verdict(result, [])

    assert (
        "    app database: 2 not read by the processor · 3 normalized, not landed by sink cdc"
        in lines
    )
    assert "    clevertap: 4 normalized, not landed by sink app-events" in lines
    assert any(line.startswith("  PENDING: 9 records") for line in lines)
    assert status == 1
    assert last.startswith("demo INCOMPLETE: 9 records pending (app database 5, clevertap 4)")


def test_a_mismatch_fails_the_demo() -> None:
    result = Reconciliation([_cdc(pulled=5, consumed=5, normalized=4, landed=4), _ads()])

    last, status = verdict(result, [])

    assert status == 1
    assert last == "demo FAILED: a reconciliation does not hold"
    assert any("MISMATCH by +1" in line for line in reconciliation_lines(result))


def test_the_claim_is_printed_only_when_every_source_is_accounted_for() -> None:
    result = Reconciliation(
        [
            _cdc(
                pulled=12,
                consumed=12,
                normalized=9,
                rejected=1,
                filtered=2,
                landed=8,
                sink_rejected=1,
            ),
            _ads(),
        ]
    )

    last, status = verdict(result, [])

    assert (last, status) == (CLAIM, 0)
    assert reconciliation_lines(result)[-1] == "  every source reconciles"
    assert not any("PENDING" in line for line in reconciliation_lines(result))


def test_no_claim_when_a_service_was_given_up_even_if_the_counts_reconcile() -> None:
    result = Reconciliation([_ads()])

    last, status = verdict(result, ["gave up on sink-cdc"])

    assert (last, status) == ("demo FAILED: gave up on sink-cdc", 1)


def test_no_claim_while_debezium_had_not_published_every_change_of_the_run() -> None:
    # The workload committed changes, Debezium published none: nothing read, nothing landed.
    silent = _cdc(source_behind=True)
    result = Reconciliation([silent, _ads()])

    last, status = verdict(result, [])
    lines = reconciliation_lines(result)

    assert status == 1
    assert last == (
        "demo INCOMPLETE: 0 records pending (app database 0 + unpublished):"
        " not every record is accounted for"
    )
    assert lines[2].endswith("0 = 0 + 0 + 0  Debezium behind")
    assert (
        "    app database: Debezium had not published all of the run's changes (how many is"
        " unknown: its end-of-run fence never arrived)" in lines
    )
    assert "  every source reconciles" not in lines

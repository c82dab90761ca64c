"""The demo's closing summary: the reconciliation table and the best campaigns by ROAS."""

from __future__ import annotations

from collections.abc import Sequence

from control.demo.reconcile import Reconciliation, SourceCount
from control.demo.warehouse import CampaignRoas
from control.status.render import number


def reconciliation_lines(result: Reconciliation) -> list[str]:
    """Per source: pulled, unread, in, normalized, rejected, filtered, landed, unlanded; the
    check; and what is pending, per source and per stage."""
    lines = [
        "RECONCILIATION (this run; counted in Kafka and in the sinks' warehouse offsets)",
        f"  {'source':<14}{'pulled':>9}{'unread':>8}{'in':>9}{'normalized':>12}{'rejected':>10}"
        f"{'filtered':>10}{'landed':>9}{'sink DLQ':>10}{'unlanded':>10}"
        "   in = normalized + rejected + filtered",
    ]
    for count in result.counts:
        check = (
            f"{number(count.consumed)} = {number(count.normalized)} + {number(count.rejected)}"
            f" + {number(count.filtered)}"
        )
        outcome = _outcome(count)
        lines.append(
            f"  {count.source:<14}{number(count.pulled):>9}{number(count.unread):>8}"
            f"{number(count.consumed):>9}{number(count.normalized):>12}"
            f"{number(count.rejected):>10}{number(count.filtered):>10}{number(count.landed):>9}"
            f"{number(count.sink_rejected):>10}{number(count.unlanded):>10}   {check}  {outcome}"
        )
    for count in result.counts:
        if count.unaccounted:
            examples = ", ".join(f"{t}[{p}]@{o}" for t, p, o in count.unaccounted[:5])
            lines.append(
                f"  {count.source}: {len(count.unaccounted):,} consumed records neither"
                f" dead-lettered nor found normalized, e.g. {examples}"
            )
    lines += [
        "  pulled: appended to the source's topics by this run's pollers or Debezium;"
        " unread: the source's records the processor",
        "  did not consume; in: consumed and committed by the processor; normalized: its"
        " normalized records are on norm.*;",
        "  rejected: on dlq.normalize; filtered: Debezium's tombstones (the processor writes its"
        " own after each DELETE);",
        "  landed: committed by the sink with its offsets; sink DLQ: on dlq.sink; unlanded:"
        " normalized, not yet landed.",
    ]
    if any(count.consumed > count.pulled for count in result.counts):
        lines.append(
            "  in exceeds pulled when the processor also read records left from before the run"
            " or written by others to shared topics."
        )
    lines += pending_lines(result)
    if not result.holds:
        lines.append(
            "  RECONCILIATION FAILED: some records are not accounted for (see MISMATCH above)"
        )
    elif result.waiting:
        lines.append(
            "  in = normalized + rejected + filtered for every source, but not every record is"
            " accounted for yet (see PENDING above)"
        )
    else:
        lines.append("  every source reconciles")
    return lines


def _outcome(count: SourceCount) -> str:
    if not count.holds:
        return f"MISMATCH by {count.difference:+,}"
    waiting = [f"pending {count.pending:,}"] if count.pending else []
    if count.source_behind:
        waiting.append("Debezium behind")
    return ", ".join(waiting) or "ok"


def pending_lines(result: Reconciliation) -> list[str]:
    """How many records are pending, per source and per stage; nothing when none are."""
    if not result.waiting:
        return []
    lines = [
        f"  PENDING: {result.pending:,} records not accounted for yet (safe in Kafka: the next"
        " run takes them up from the committed offsets)"
    ]
    for count in result.waiting:
        stages = []
        if count.source_behind:
            stages.append(
                "Debezium had not published all of the run's changes (how many is unknown:"
                " its end-of-run fence never arrived)"
            )
        if count.unread:
            stages.append(f"{count.unread:,} not read by the processor")
        if count.unlanded:
            stages.append(f"{count.unlanded:,} normalized, not landed by sink {count.sink}")
        if stages:
            lines.append(f"    {count.source}: {' · '.join(stages)}")
    return lines


def verdict(result: Reconciliation, problems: Sequence[str]) -> tuple[str, int]:
    """The demo's last line and exit status.

    "every record accounted for" only when it is so: every change of the run published,
    every pulled record read by the processor, in = normalized + rejected + filtered and
    every normalized record landed or dead-lettered by its sink, for every source; and
    nothing else went wrong.
    """
    failures = list(problems)
    if not result.holds:
        failures.insert(0, "a reconciliation does not hold")
    pending = ", ".join(
        f"{count.source} {count.pending:,}" + (" + unpublished" if count.source_behind else "")
        for count in result.waiting
    )
    if failures:
        if pending:
            failures.append(f"{result.pending:,} records pending ({pending})")
        return f"demo FAILED: {'; '.join(failures)}", 1
    if not result.accounted_for:
        return (
            f"demo INCOMPLETE: {result.pending:,} records pending ({pending}):"
            " not every record is accounted for",
            1,
        )
    return "demo finished: every record accounted for", 0


def campaign_lines(top: list[CampaignRoas] | None, limit: int) -> list[str]:
    """The best campaigns by ROAS, or why there are none."""
    if top is None:
        return [
            f"TOP {limit} CAMPAIGNS BY ROAS: campaign_kpis_daily does not exist yet "
            "(the KPI sink has not written to this warehouse)"
        ]
    if not top:
        return [f"TOP {limit} CAMPAIGNS BY ROAS: no campaign with spend in campaign_kpis_daily yet"]
    lines = [
        f"TOP {limit} CAMPAIGNS BY ROAS (campaign_kpis_daily, every day so far;"
        f" money in {top[0].currency})",
        f"  {'platform':<12}{'campaign':<14}{'spend':>16}{'revenue':>18}{'ROAS':>9}"
        f"{'orders':>9}{'installs':>10}",
    ]
    for row in top:
        roas = "-" if row.roas is None else f"{row.roas:.2f}"
        lines.append(
            f"  {row.platform:<12}{row.campaign_id:<14}"
            f"{row.spend:>16,.2f}{row.revenue:>18,.2f}"
            f"{roas:>9}{row.orders:>9,}{row.installs:>10,}"
        )
    return lines

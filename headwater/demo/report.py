"""The demo's closing summary: the reconciliation table and the best campaigns by ROAS."""

from __future__ import annotations

from headwater.demo.progress import number
from headwater.demo.reconcile import Reconciliation
from headwater.demo.warehouse import CampaignRoas


def reconciliation_lines(result: Reconciliation) -> list[str]:
    """Per source: pulled, in, normalized, rejected, filtered, landed; and the check."""
    lines = [
        "RECONCILIATION (this run; counted in Kafka and in the sinks' warehouse offsets)",
        f"  {'source':<14}{'pulled':>9}{'in':>9}{'normalized':>12}{'rejected':>10}"
        f"{'filtered':>10}{'landed':>9}{'sink DLQ':>10}{'pending':>9}"
        "   in = normalized + rejected + filtered",
    ]
    for count in result.counts:
        check = (
            f"{number(count.consumed)} = {number(count.normalized)} + {number(count.rejected)}"
            f" + {number(count.filtered)}"
        )
        verdict = "ok" if count.holds else f"MISMATCH by {count.difference:+,}"
        lines.append(
            f"  {count.source:<14}{number(count.pulled):>9}{number(count.consumed):>9}"
            f"{number(count.normalized):>12}{number(count.rejected):>10}"
            f"{number(count.filtered):>10}{number(count.landed):>9}"
            f"{number(count.sink_rejected):>10}{number(count.pending):>9}   {check}  {verdict}"
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
        " in: consumed and committed by the processor;",
        "  normalized: its normalized records are on norm.*; rejected: on dlq.normalize;"
        " filtered: Debezium's tombstones (the processor",
        "  writes its own after each DELETE); landed: committed by the sink with its offsets;"
        " sink DLQ: on dlq.sink; pending: not yet landed.",
    ]
    if any(count.pulled != count.consumed for count in result.counts):
        lines.append(
            "  pulled and in differ when the processor had records left from before the run,"
            " or had not caught up when it stopped."
        )
    if any(count.pending for count in result.counts):
        lines.append(
            "  pending records are safe in Kafka: the sinks land them on the next run, from"
            " their offsets in the warehouse."
        )
    lines.append(
        "  every source reconciles"
        if result.holds
        else "  RECONCILIATION FAILED: some records are not accounted for (see MISMATCH above)"
    )
    return lines


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

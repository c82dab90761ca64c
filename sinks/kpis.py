"""``headwater sink kpis``: metrics.campaigns.kpis_daily into ``campaign_kpis_daily``."""

from __future__ import annotations

from typing import Any

from sinks.upsert import Column, TableSpec, VersionedUpsertWriter

CAMPAIGN_KPIS_DAILY = TableSpec(
    schema="public",
    table="campaign_kpis_daily",
    columns=(
        Column("date", "date"),
        Column("platform", "text"),
        Column("campaign_id", "text"),
        Column("currency", "text", nullable=False),
        Column("impressions", "bigint", nullable=False),
        Column("clicks", "bigint", nullable=False),
        Column("spend", "numeric(18,6)", nullable=False),
        Column("account_currency", "text"),
        Column("spend_account_currency", "numeric(18,6)"),
        Column("conversions", "numeric(18,6)", nullable=False),
        Column("installs", "bigint", nullable=False),
        Column("signups", "bigint", nullable=False),
        Column("purchases", "bigint", nullable=False),
        Column("orders", "bigint", nullable=False),
        Column("revenue", "numeric(18,6)", nullable=False),
        Column("ctr", "numeric(12,6)"),
        Column("cpc", "numeric(18,4)"),
        Column("cpm", "numeric(18,4)"),
        Column("cpi", "numeric(18,4)"),
        Column("cost_per_order", "numeric(18,4)"),
        Column("roas", "numeric(18,4)"),
        Column("conversion_rate", "numeric(12,6)"),
        Column("updated_at", "timestamptz", nullable=False),
    ),
    key=("date", "platform", "campaign_id"),
    version="updated_at",
)


def _row(record: dict[str, Any]) -> dict[str, Any]:
    return record


def kpis_writer() -> VersionedUpsertWriter:
    """The writer of the campaign KPI table."""
    return VersionedUpsertWriter("kpis", CAMPAIGN_KPIS_DAILY, "metrics/campaign_kpis_daily", _row)

"""``headwater sink ad-performance``: norm.ads.performance_daily into ``ad_performance_daily``."""

from __future__ import annotations

from typing import Any

from sinks.upsert import Column, TableSpec, VersionedUpsertWriter

AD_PERFORMANCE_DAILY = TableSpec(
    schema="public",
    table="ad_performance_daily",
    columns=(
        Column("platform", "text"),
        Column("account_id", "text"),
        Column("account_name", "text"),
        Column("campaign_id", "text"),
        Column("campaign_name", "text"),
        Column("ad_group_id", "text"),
        Column("ad_group_name", "text"),
        Column("ad_id", "text"),
        Column("ad_name", "text"),
        Column("date", "date"),
        Column("currency", "text", nullable=False),
        Column("impressions", "bigint", nullable=False),
        Column("clicks", "bigint", nullable=False),
        Column("spend", "numeric(18,6)", nullable=False),
        Column("conversions", "numeric(18,6)", nullable=False),
        Column("conversion_value", "numeric(18,6)", nullable=False),
        Column("ctr", "numeric(12,6)"),
        Column("cpc", "numeric(18,4)"),
        Column("cpm", "numeric(18,4)"),
        Column("fetched_at", "timestamptz", nullable=False),
    ),
    key=("platform", "account_id", "campaign_id", "ad_group_id", "ad_id", "date"),
    version="fetched_at",
)


def _row(record: dict[str, Any]) -> dict[str, Any]:
    return record  # Avro logical types already decode to date and datetime


def ads_writer() -> VersionedUpsertWriter:
    """The writer of the ad performance table."""
    return VersionedUpsertWriter(
        "ad-performance", AD_PERFORMANCE_DAILY, "norm/ad_performance_daily", _row
    )

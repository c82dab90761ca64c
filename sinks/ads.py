"""``headwater sink ad-performance``: norm.ads.performance_daily into ``ad_performance_daily``."""

from __future__ import annotations

from headwater.settings import Settings
from sinks.upsert import TableSpec, VersionedUpsertWriter

AD_PERFORMANCE_DAILY = TableSpec(
    schema="public",
    table="ad_performance_daily",
    record="norm/ad_performance_daily",
    key=("platform", "account_id", "campaign_id", "ad_group_id", "ad_id", "date"),
    version="fetched_at",
)


def ads_writer(_settings: Settings) -> VersionedUpsertWriter:
    """The writer of the ad performance table."""
    return VersionedUpsertWriter("ad-performance", AD_PERFORMANCE_DAILY)

"""``headwater sink kpis``: metrics.campaigns.kpis_daily into ``campaign_kpis_daily``."""

from __future__ import annotations

from headwater.settings import Settings
from sinks.upsert import TableSpec, VersionedUpsertWriter

CAMPAIGN_KPIS_DAILY = TableSpec(
    schema="public",
    table="campaign_kpis_daily",
    record="metrics/campaign_kpis_daily",
    key=("date", "platform", "campaign_id"),
    version="updated_at",
)


def kpis_writer(_settings: Settings) -> VersionedUpsertWriter:
    """The writer of the campaign KPI table."""
    return VersionedUpsertWriter("kpis", CAMPAIGN_KPIS_DAILY)

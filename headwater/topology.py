"""The topics between the rooms: one declaration of each name that two rooms share.

The processor writes these and the sinks (and the demo, status and benchmarks) read them,
so neither side spells a name of its own. Raw topics are declared with their envelope in
:mod:`headwater.raw`; Debezium's ``cdc.*`` topics are named by ``CdcSettings.topic``.
"""

from __future__ import annotations

from typing import Final

#: normalized ad performance, one record per ad and day (``norm/ad_performance_daily``)
NORM_ADS: Final = "norm.ads.performance_daily"
#: normalized app events (``norm/app_event``)
NORM_EVENTS: Final = "norm.app.events"
#: prefix of the normalized CDC topics, one per source table (``norm/cdc_row``)
NORM_CDC_PREFIX: Final = "norm.cdc"
#: campaign KPIs per platform, campaign and day (``metrics/campaign_kpis_daily``)
KPIS_DAILY: Final = "metrics.campaigns.kpis_daily"


def norm_cdc_topic(schema: str, table: str) -> str:
    """The normalized topic of a source table."""
    return f"{NORM_CDC_PREFIX}.{schema}.{table}"

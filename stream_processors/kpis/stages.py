"""The KPI stages: contributions from ads, events and orders, folded into KPI rows.

Stage 1 turns each upstream record into a contribution and re-keys it by its KPI row on
``<app id>-kpi-contributions`` (orders remember their row, so an order that moves to another
campaign or day is withdrawn from the old row: ``orders.py``). Stage 2 keeps, per KPI row,
the latest contribution per identity and running totals, and emits the row's figures to
``metrics.campaigns.kpis_daily`` whenever they change (``fold.py``). Every step is
idempotent, so a batch redone after a crash or a failed delivery never double-counts.
"""

from __future__ import annotations

from headwater.avro import decode
from headwater.settings import Settings
from headwater.topology import NORM_ADS, NORM_EVENTS, norm_cdc_topic
from schemas import avro_schema
from stream_processors.base import Stage, TransformStage
from stream_processors.kpis.contributions import (
    Attribution,
    contributions_topic,
    from_ad_row,
    from_event,
)
from stream_processors.kpis.fold import KpiFold
from stream_processors.kpis.orders import OrderContributions, contribution_output
from stream_processors.output import Output

STAGE = "kpis"


def orders_topic(settings: Settings) -> str:
    """The normalized CDC topic of the orders table."""
    schema, table = settings.kpis.orders_table.split(".", 1)
    return norm_cdc_topic(schema, table)


def stages(settings: Settings) -> list[Stage]:
    """The KPI stages of the processor."""
    attribution = Attribution(settings.kpis)
    ads_schema = avro_schema("norm/ad_performance_daily")
    events_schema = avro_schema("norm/app_event")
    contributions = contributions_topic(settings.processor.app_id)

    def ads(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        if value is None:
            return []
        return [
            contribution_output(contributions, from_ad_row(decode(ads_schema, value), attribution))
        ]

    def events(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        if value is None:
            return []
        contribution = from_event(decode(events_schema, value), attribution)
        return [] if contribution is None else [contribution_output(contributions, contribution)]

    return [
        TransformStage("kpi_ads", STAGE, [NORM_ADS], ads),
        TransformStage("kpi_events", STAGE, [NORM_EVENTS], events),
        OrderContributions(settings, orders_topic(settings), contributions),
        KpiFold(settings),
    ]

"""The KPI agents: contributions from ads, events and orders, folded into KPI rows.

Stage 1 turns each upstream record into a contribution and re-keys it by its KPI row on
``kpis.contributions`` (orders remember their row in a table, so an order that moves to
another campaign or day is withdrawn from the old row). Stage 2 keeps, per KPI row, the
latest contribution per identity in a changelogged table, and emits the row's figures to
``metrics.campaigns.kpis_daily`` whenever they change. Every step is idempotent, so Faust's
at-least-once redelivery and a rebuild from the changelog after a crash never double-count.
"""

from __future__ import annotations

import json
import time
from typing import Any

import faust

from headwater.avro import SCHEMA_HEADER, decode, encode, schema_id
from headwater.settings import Settings
from schemas import avro_schema
from sinks.cdc.changes import decode_change
from stream_processors.ads.normalize import TOPIC as ADS_TOPIC
from stream_processors.cdc.normalize import norm_topic
from stream_processors.events.normalize import TOPIC as EVENTS_TOPIC
from stream_processors.kpis.contributions import (
    ORDERS,
    Attribution,
    Contribution,
    KpiKey,
    from_ad_row,
    from_event,
    order_key,
    order_values,
)
from stream_processors.kpis.rows import apply, figures
from stream_processors.output import Output
from stream_processors.relay import relay

STAGE = "kpis"
CONTRIBUTIONS = "kpis.contributions"
KPIS = "metrics.campaigns.kpis_daily"


def _contribution(contribution: Contribution | None) -> list[Output]:
    if contribution is None:
        return []
    return [Output(CONTRIBUTIONS, contribution.key.encode(), contribution.encode())]


def orders_topic(settings: Settings) -> str:
    """The normalized CDC topic of the orders table."""
    schema, table = settings.kpis.orders_table.split(".", 1)
    return norm_topic(schema, table)


def register(app: faust.App, settings: Settings) -> None:
    """Attach the KPI stages to the app."""
    attribution = Attribution(settings.kpis)
    partitions = settings.processor.partitions
    ads_schema = avro_schema("norm/ad_performance_daily")
    events_schema = avro_schema("norm/app_event")
    kpi_schema = avro_schema("metrics/campaign_kpis_daily")
    # Keys are raw bytes, values JSON (the app's default serializers).
    order_rows: Any = app.Table("kpi_order_rows", partitions=partitions, key_type=bytes)
    kpi_state: Any = app.Table("kpi_state", partitions=partitions, key_type=bytes)

    def ads(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        if value is None:
            return []
        return _contribution(from_ad_row(decode(ads_schema, value), attribution))

    def events(_topic: str, _key: bytes | None, value: bytes | None) -> list[Output]:
        if value is None:
            return []
        return _contribution(from_event(decode(events_schema, value), attribution))

    def orders(_topic: str, key: bytes | None, value: bytes | None) -> list[Output]:
        if value is None or key is None:
            return []  # our tombstone after a DELETE record
        change = decode_change(value)
        if change.op == "TRUNCATE":
            return []
        identity = key.decode()
        previous = order_rows.get(key)
        previous_key = KpiKey.decode(previous.encode()) if previous else None
        target = None if change.op == "DELETE" else order_key(change.values, attribution)
        outputs: list[Output] = []
        if previous_key is not None and previous_key != target:
            withdraw = Contribution(previous_key, ORDERS, identity, change.lsn, None)
            outputs += _contribution(withdraw)
        if target is not None:
            share = order_values(change.values, attribution)
            outputs += _contribution(Contribution(target, ORDERS, identity, change.lsn, share))
        order_rows[key] = target.encode().decode() if target is not None else None
        return outputs

    def fold(_topic: str, key: bytes | None, value: bytes | None) -> list[Output]:
        if key is None or value is None:
            return []
        contribution = Contribution.decode(value)
        state = kpi_state.get(key) or {}
        if not apply(state, contribution):
            return []
        kpi_state[key] = json.loads(json.dumps(state))  # a fresh value: the changelog records it
        row = figures(contribution.key, state, settings.kpis.currency, time.time_ns() // 1000)
        return [
            Output(KPIS, key, encode(kpi_schema, row), [(SCHEMA_HEADER, schema_id(kpi_schema))])
        ]

    relay(app, "kpi_ads", [ADS_TOPIC], ads, STAGE)
    relay(app, "kpi_events", [EVENTS_TOPIC], events, STAGE)
    relay(app, "kpi_orders", [orders_topic(settings)], orders, STAGE)
    relay(app, "kpi_fold", [CONTRIBUTIONS], fold, STAGE)

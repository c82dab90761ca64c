"""The versioned upsert writer against the real warehouse: newest pull of a day wins."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import psycopg

from headwater.raw import read_envelope
from sinks.ads import AD_PERFORMANCE_DAILY
from sinks.base import SinkRecord
from sinks.upsert import VersionedUpsertWriter
from stream_processors.ads.normalize import facebook_row, to_output


def _record(offset: int, spend: str, fetched_at: str, day: str = "2026-11-20") -> SinkRecord:
    payload = {
        "account_id": "1",
        "account_currency": "EUR",
        "campaign_id": "23850001",
        "adset_id": "5",
        "ad_id": "9",
        "impressions": "1000",
        "clicks": "10",
        "spend": spend,
        "date_start": day,
    }
    envelope = {
        "source": "facebook_ads",
        "stream": "insights",
        "account": "act_1",
        "fetched_at": fetched_at,
        "payload": payload,
    }
    output = to_output(facebook_row(read_envelope(json.dumps(envelope).encode()), ["purchase"]))
    return SinkRecord("norm.ads.performance_daily", 0, offset, output.key, output.value)


def test_restated_day_newest_pull_wins_and_replays_change_nothing(
    warehouse: psycopg.Connection, unique_name: str
) -> None:
    spec = dataclasses.replace(AD_PERFORMANCE_DAILY, schema=unique_name)
    writer = VersionedUpsertWriter("ads", spec)
    writer.prepare(warehouse)
    first = _record(0, "100.00", "2026-11-21T00:00:00+00:00")
    restated = _record(1, "112.35", "2026-11-22T00:00:00+00:00")
    other_day = _record(2, "50.00", "2026-11-22T00:00:00+00:00", day="2026-11-19")
    with warehouse.transaction():
        stats = writer.write(warehouse, [first, other_day])
    assert stats.rows_written == 2
    with warehouse.transaction():
        writer.write(warehouse, [restated])
    with warehouse.transaction():  # a replay of the older pull arrives late
        late = writer.write(warehouse, [first])
    assert late.skipped_by_version == 1
    rows = warehouse.execute(
        f'SELECT date::text, spend, cpc, cpm FROM "{unique_name}".ad_performance_daily '
        "ORDER BY date"
    ).fetchall()
    assert rows == [
        ("2026-11-19", Decimal("50.000000"), Decimal("5.0000"), Decimal("50.0000")),
        ("2026-11-20", Decimal("112.350000"), Decimal("11.2350"), Decimal("112.3500")),
    ]
    with warehouse.transaction():  # the whole history again: nothing changes
        again = writer.write(warehouse, [first, restated, other_day])
    assert again.rows_written == 0

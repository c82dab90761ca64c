"""The versioned upsert writer against the real warehouse: newest pull of a day wins."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import psycopg
import pytest

from headwater.raw import read_envelope
from sinks.ads import AD_PERFORMANCE_DAILY
from sinks.base import SinkRecord
from sinks.upsert import VersionedUpsertWriter
from stream_processors.ads.normalize import facebook_row, to_output


@pytest.fixture
def writer(warehouse: psycopg.Connection, unique_name: str) -> VersionedUpsertWriter:
    """The ad performance writer, on a table in the test's own schema."""
    ads = VersionedUpsertWriter(
        "ads", dataclasses.replace(AD_PERFORMANCE_DAILY, schema=unique_name)
    )
    ads.prepare(warehouse)
    return ads


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
    warehouse: psycopg.Connection, unique_name: str, writer: VersionedUpsertWriter
) -> None:
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


def test_the_same_version_normalized_anew_repairs_and_an_identical_one_changes_nothing(
    warehouse: psycopg.Connection, unique_name: str, writer: VersionedUpsertWriter
) -> None:
    pulled = "2026-11-21T00:00:00+00:00"
    with warehouse.transaction():
        writer.write(warehouse, [_record(0, "100.00", pulled)])

    def row() -> tuple[object, ...] | None:
        return warehouse.execute(
            f'SELECT spend, cpc, _synced_at FROM "{unique_name}".ad_performance_daily'
        ).fetchone()

    before = row()
    with warehouse.transaction():  # the raw topic replayed through unchanged code
        unchanged = writer.write(warehouse, [_record(5, "100.00", pulled)])
    assert unchanged.rows_written == 0
    assert row() == before  # _synced_at included: the table is as it was
    with warehouse.transaction():  # replayed through a fixed normalizer: same pull, new values
        fixed = writer.write(warehouse, [_record(9, "100.50", pulled)])
    assert fixed.rows_written == 1
    repaired = row()
    assert repaired is not None
    assert repaired[:2] == (Decimal("100.500000"), Decimal("10.0500"))


def test_immutable_facts_keep_their_version_but_take_a_renormalization(
    warehouse: psycopg.Connection, unique_name: str
) -> None:
    from sinks.events import APP_EVENTS
    from tests.support.norm_records import app_event_value

    spec = dataclasses.replace(APP_EVENTS, schema=unique_name)
    writer = VersionedUpsertWriter("app-events", spec, insert_only=True)
    writer.prepare(warehouse)

    def event(offset: int, name: str, fetched_at: int) -> SinkRecord:
        value = app_event_value(1, name, fetched_at)
        return SinkRecord("norm.app.events", 0, offset, b"e1", value)

    with warehouse.transaction():
        writer.write(warehouse, [event(0, "App Launched", 1_000)])
    with warehouse.transaction():  # the same event pulled again later: the first stays
        assert writer.write(warehouse, [event(1, "App Launchd", 2_000)]).rows_written == 0
    with warehouse.transaction():  # the first pull normalized anew (a fix): it repairs
        assert writer.write(warehouse, [event(2, "App Opened", 1_000)]).rows_written == 1
    names = warehouse.execute(f'SELECT event_name FROM "{unique_name}".app_events').fetchall()
    assert names == [("App Opened",)]


def test_in_one_batch_the_later_normalization_of_a_version_wins(
    warehouse: psycopg.Connection, unique_name: str, writer: VersionedUpsertWriter
) -> None:
    pulled = "2026-11-21T00:00:00+00:00"
    with warehouse.transaction():  # the old and the fixed normalization of one pull, in order
        writer.write(warehouse, [_record(0, "100.00", pulled), _record(1, "100.50", pulled)])
    spend = warehouse.execute(f'SELECT spend FROM "{unique_name}".ad_performance_daily').fetchone()
    assert spend == (Decimal("100.500000"),)

"""``campaign_kpis_daily`` rows the warehouse refuses and records no reader can decode: each
goes to ``dlq.sink`` with its reason, and every good KPI row around it lands, to the cent.
One run of the real SinkRunner over the whole catalogue."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from headwater.avro import SCHEMA_HEADER, encode, schema_id
from headwater.settings import Settings
from schemas import avro_schema
from sinks import kpis
from sinks.upsert import VersionedUpsertWriter
from stream_processors.ads.normalize import to_output as ad_output
from stream_processors.kpis.contributions import KpiKey
from stream_processors.kpis.rows import Totals, figures
from tests.support.bad_avro import refused_by_columns, undecodable
from tests.support.bad_inputs import Bad, Batch, catalogue_tests, interleave
from tests.support.kafka_io import Record
from tests.support.norm_records import DAY, FETCHED_US, ad_record
from tests.support.sink_run import refused_by, sink_run
from tests.support.stage_run import DeadLetter

RECORD = "metrics/campaign_kpis_daily"
SCHEMA = avro_schema(RECORD)
HEADERS = ((SCHEMA_HEADER, schema_id(SCHEMA)),)
GOOD = 60


def kpi_row(n: int, **changes: Any) -> dict[str, Any]:
    """The KPI row of campaign ``c<n>``, as the fold writes it."""
    totals = Totals(
        counts={"impressions": 1000 + n, "clicks": n, "installs": n % 5, "orders": n % 3},
        amounts={"spend": Decimal(f"{n}.{n % 100:02d}"), "revenue": Decimal(f"{2 * n}.50")},
        accounts={"USD": [1, Decimal(f"{n}.{n % 100:02d}")]},
    )
    return figures(KpiKey(DAY, "facebook", f"c{n}"), totals, "EUR", FETCHED_US) | changes


OTHER = ad_output(ad_record(0))
BAD: list[Bad] = [
    *undecodable(RECORD, kpi_row(0), OTHER.value or b"", tuple(OTHER.headers)),
    *refused_by_columns(RECORD, lambda n: kpi_row(10_000 + n)),
]


def good_records() -> list[Record]:
    records: list[Record] = [
        (f"c{n}".encode(), encode(SCHEMA, kpi_row(n)), HEADERS) for n in range(GOOD)
    ]
    # A later emission of row 5 wins (its version, updated_at, is later).
    later = kpi_row(5, spend="55.000000", updated_at=FETCHED_US + 1)
    records.append((b"c5", encode(SCHEMA, later), HEADERS))
    return records


BATCH: Batch = interleave(good_records(), BAD)


@pytest.fixture(scope="module")
def letters(settings: Settings, schema: str) -> Iterator[dict[int, DeadLetter]]:
    spec = dataclasses.replace(kpis.CAMPAIGN_KPIS_DAILY, schema=schema)
    with sink_run(settings, "kpis") as run:
        yield run.run(VersionedUpsertWriter("kpis", spec), BATCH.records)


(
    test_the_catalogue_holds_at_least_40_bad_inputs,
    test_a_bad_input_is_a_dead_letter_with_its_reason,
    test_no_good_record_is_a_dead_letter,
) = catalogue_tests(BAD, BATCH, refused_by("kpis"))


def test_every_good_kpi_row_lands_to_the_cent(
    letters: dict[int, DeadLetter], warehouse: psycopg.Connection, schema: str
) -> None:
    rows = warehouse.execute(
        "SELECT campaign_id, date::text, spend, revenue, impressions, cpc "
        f'FROM "{schema}".campaign_kpis_daily ORDER BY substr(campaign_id, 2)::int'
    ).fetchall()
    assert [row[:5] for row in rows] == [
        (
            f"c{n}",
            DAY,
            Decimal("55") if n == 5 else Decimal(f"{n}.{n % 100:02d}"),
            Decimal(f"{2 * n}.50"),
            1000 + n,
        )
        for n in range(GOOD)
    ]
    assert rows[7][5] == (Decimal("7.07") / 7).quantize(Decimal("0.0001"))

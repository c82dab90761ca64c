"""``ad_performance_daily`` rows the warehouse refuses and records no reader can decode: each
goes to ``dlq.sink`` with its reason, error class and coordinates, and every good row around
it lands, to the cent. One run of the real SinkRunner over the whole catalogue."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from headwater.settings import Settings
from sinks import ads
from sinks.upsert import VersionedUpsertWriter
from stream_processors.ads.normalize import to_output
from stream_processors.events.normalize import to_output as event_output
from tests.support.bad_avro import refused_by_columns, undecodable
from tests.support.bad_inputs import TEN_MB, Bad, Batch, catalogue_tests, interleave
from tests.support.kafka_io import Record
from tests.support.norm_records import ad_record, install
from tests.support.sink_run import refused_by, sink_run
from tests.support.stage_run import DeadLetter

RECORD = "norm/ad_performance_daily"
GOOD = 60
OTHER = event_output(install(0))
BAD: list[Bad] = [
    *undecodable(RECORD, ad_record(0), OTHER.value or b"", tuple(OTHER.headers)),
    *refused_by_columns(RECORD, lambda n: ad_record(10_000 + n)),
    Bad(
        "a 10 MB row with a NUL byte",  # refused, and too large for dlq.sink itself
        to_output(ad_record(20_000, ad_name="n" * TEN_MB + "\x00")).value,
        "NUL",
        too_large=True,
        headers=tuple(to_output(ad_record(0)).headers),
    ),
]


def good_records() -> list[Record]:
    rows = [ad_record(n) for n in range(GOOD)]
    rows[3] = rows[3] | {"ad_name": "n" * TEN_MB}  # a 10 MB name: text holds it
    rows[4] = rows[4] | {"fetched_at": -62_135_596_800_000_000}  # 0001-01-01T00:00Z: it holds
    outputs = [to_output(row) for row in rows]
    # The same ad and day again, fetched later with a restated spend: the later one wins.
    outputs.append(to_output(ad_record(5, spend="5.55", fetched_at=rows[5]["fetched_at"] + 1)))
    return [(o.key, o.value, o.headers) for o in outputs]


BATCH: Batch = interleave(good_records(), BAD)


@pytest.fixture(scope="module")
def letters(settings: Settings, schema: str) -> Iterator[dict[int, DeadLetter]]:
    spec = dataclasses.replace(ads.AD_PERFORMANCE_DAILY, schema=schema)
    with sink_run(settings, "ads") as run:
        yield run.run(VersionedUpsertWriter("ad-performance", spec), BATCH.records)


(
    test_the_catalogue_holds_at_least_40_bad_inputs,
    test_a_bad_input_is_a_dead_letter_with_its_reason,
    test_no_good_record_is_a_dead_letter,
) = catalogue_tests(BAD, BATCH, refused_by("ad-performance"))


def test_every_good_row_lands_to_the_cent(
    letters: dict[int, DeadLetter], warehouse: psycopg.Connection, schema: str
) -> None:
    rows = warehouse.execute(
        "SELECT ad_id, spend, impressions, clicks, length(ad_name), "
        "fetched_at = timestamptz '0001-01-01 00:00:00+00' "
        f'FROM "{schema}".ad_performance_daily ORDER BY ad_id::int'
    ).fetchall()
    expected = [
        (str(n), Decimal("5.55") if n == 5 else Decimal(f"{n}.{n % 100:02d}"), 1000 + n, n)
        for n in range(GOOD)
    ]
    assert [row[:4] for row in rows] == expected
    assert rows[3][4] == TEN_MB
    assert rows[4][5] is True

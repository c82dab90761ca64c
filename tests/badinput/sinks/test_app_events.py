"""``app_events`` rows the warehouse refuses and records no reader can decode: each goes to
``dlq.sink`` with its reason, and every good event around it lands. Events are immutable
facts: a later copy of an event keeps the first one's values. One run of the real
SinkRunner over the whole catalogue."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from headwater.settings import Settings
from sinks import events
from sinks.upsert import VersionedUpsertWriter
from stream_processors.ads.normalize import to_output as ad_output
from stream_processors.events.normalize import to_output
from tests.support.bad_avro import refused_by_columns, undecodable
from tests.support.bad_inputs import TEN_MB, Bad, Batch, catalogue_tests, interleave
from tests.support.kafka_io import Record
from tests.support.norm_records import NOON_US, ad_record, install
from tests.support.sink_run import refused_by, sink_run
from tests.support.stage_run import DeadLetter

RECORD = "norm/app_event"
GOOD = 60
YEAR_1_US = -62_135_596_800_000_000  # 0001-01-01T00:00Z: the first instant every reader holds
OTHER = ad_output(ad_record(0))
HEADERS = tuple(to_output(install(0)).headers)
BAD: list[Bad] = [
    *undecodable(RECORD, install(0), OTHER.value or b"", tuple(OTHER.headers)),
    *refused_by_columns(RECORD, lambda n: install(10_000 + n, amount="1.00")),
    Bad(
        "a 10 MB event with a NUL byte",
        to_output(install(20_000, utm_campaign="u" * TEN_MB + "\x00")).value,
        "NUL",
        too_large=True,
        headers=HEADERS,
    ),
]


def good_event(n: int) -> dict[str, object]:
    return install(n, amount=f"{n}.{n % 100:02d}", currency="INR")


def good_records() -> list[Record]:
    made = [good_event(n) for n in range(GOOD)]
    made[3] = made[3] | {"utm_campaign": "u" * TEN_MB}  # 10 MB of text: it holds
    made[4] = made[4] | {"occurred_at": YEAR_1_US}
    # The same event again, fetched later: an event is a fact, the first copy stays.
    made.append(good_event(5) | {"event_name": "Sign Up", "fetched_at": made[5]["fetched_at"] + 1})
    outputs = [to_output(event) for event in made]
    return [(o.key, o.value, o.headers) for o in outputs]


BATCH: Batch = interleave(good_records(), BAD)


@pytest.fixture(scope="module")
def letters(settings: Settings, schema: str) -> Iterator[dict[int, DeadLetter]]:
    spec = dataclasses.replace(events.APP_EVENTS, schema=schema)
    with sink_run(settings, "events") as run:
        yield run.run(VersionedUpsertWriter("app-events", spec, insert_only=True), BATCH.records)


(
    test_the_catalogue_holds_at_least_40_bad_inputs,
    test_a_bad_input_is_a_dead_letter_with_its_reason,
    test_no_good_record_is_a_dead_letter,
) = catalogue_tests(BAD, BATCH, refused_by("app-events"))


def test_every_good_event_lands(
    letters: dict[int, DeadLetter], warehouse: psycopg.Connection, schema: str
) -> None:
    rows = warehouse.execute(
        "SELECT event_id, event_name, amount, occurred_at, length(utm_campaign) "
        f"FROM \"{schema}\".app_events ORDER BY split_part(event_id, '-', 2)::int"
    ).fetchall()
    assert [row[:3] for row in rows] == [
        (f"install-{n}", "App Installed", Decimal(f"{n}.{n % 100:02d}")) for n in range(GOOD)
    ]
    assert rows[4][3] == datetime(1, 1, 1, tzinfo=UTC)
    assert rows[7][3] == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=NOON_US + 7)
    assert rows[3][4] == TEN_MB

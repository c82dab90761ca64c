"""Reading dead letters: times, selections, where a letter came from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from control.dlq import DeadLetter, Selection, parse_time
from headwater.avro import SCHEMA_HEADER, UnknownWriterSchema, schema_id
from headwater.dlq import dlq_headers
from headwater.errors import ConfigurationError
from schemas import avro_schema
from tests.support.norm_records import app_event_value

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _letter(at: datetime, reason: str = "spend is not a number: 'lots'") -> DeadLetter:
    headers = (*dlq_headers("normalize", reason, "raw.facebook_ads.insights", 2, 41),
               ("trace", b"t1"))  # fmt: skip
    return DeadLetter("dlq.normalize", 0, 7, at, b"k", b"v", tuple(headers))


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("6h", datetime(2026, 11, 28, 6, 0, tzinfo=UTC)),
        ("30m", datetime(2026, 11, 28, 11, 30, tzinfo=UTC)),
        ("7d", datetime(2026, 11, 21, 12, 0, tzinfo=UTC)),
        ("2026-11-27T08:00:00", datetime(2026, 11, 27, 8, 0, tzinfo=UTC)),
        ("2026-11-27T08:00:00+02:00", datetime(2026, 11, 27, 6, 0, tzinfo=UTC)),
    ],
)
def test_times_are_iso_or_a_duration_ago(text: str, moment: datetime) -> None:
    assert parse_time(text, NOW) == moment


def test_a_time_that_is_neither_is_named() -> None:
    with pytest.raises(ConfigurationError, match="'yesterday' is neither"):
        parse_time("yesterday", NOW)


def test_a_letter_says_where_it_came_from_and_keeps_its_own_headers() -> None:
    letter = _letter(NOW)
    assert letter.source == ("raw.facebook_ads.insights", 2, 41)
    assert letter.reason == "spend is not a number: 'lots'"
    assert letter.original_headers() == [("trace", b"t1")]


def test_selection_by_time_and_reason() -> None:
    since, until = datetime(2026, 11, 28, 10, tzinfo=UTC), datetime(2026, 11, 28, 11, tzinfo=UTC)
    selection = Selection(since=since, until=until, reason="NOT A NUMBER")
    assert selection.keeps(_letter(since))
    assert not selection.keeps(_letter(until))  # until is exclusive
    assert not selection.keeps(_letter(datetime(2026, 11, 28, 9, 59, tzinfo=UTC)))
    assert not selection.keeps(_letter(since, reason="date is not YYYY-MM-DD"))


def _sink_letter(value: bytes, schema: bytes | None) -> DeadLetter:
    headers = (*dlq_headers("sink.app-events", "refused", "norm.app.events", 0, 9),
               *([(SCHEMA_HEADER, schema)] if schema is not None else []))  # fmt: skip
    return DeadLetter("dlq.sink", 0, 3, NOW, b"e7", value, tuple(headers))


def test_an_avro_letter_reads_as_the_record_its_writer_schema_says() -> None:
    value = app_event_value(7, "Charged")
    letter = _sink_letter(value, schema_id(avro_schema("norm/app_event")))
    record = letter.record()
    assert record is not None
    assert (record["event_id"], record["event_name"]) == ("e7", "Charged")


def test_a_letter_that_names_no_schema_has_no_record() -> None:
    assert _sink_letter(b'{"n": 1}', None).record() is None


def test_a_letter_of_an_unknown_writer_schema_says_so() -> None:
    letter = _sink_letter(b"\x02", b"headwater.norm.app.AppEvent@ffffffffffffffff")
    with pytest.raises(UnknownWriterSchema, match="AppEvent@ffffffffffffffff"):
        letter.record()

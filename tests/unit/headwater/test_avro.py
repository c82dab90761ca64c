"""Every record names its writer schema, and readers find it: current, older, legacy, unknown."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastavro import parse_schema

from headwater.avro import (
    DECODE_ERRORS,
    SCHEMA_HEADER,
    RecordReader,
    UndecodableRecord,
    UnknownWriterSchema,
    WriterSchemas,
    encode,
    read_as_written,
    record_reader,
    schema_id,
)
from headwater.cdc_row import decode_change
from schemas import avro_schema, schema_json
from schemas.history import History, current_schemas
from stream_processors.cdc.normalize import normalize
from tests.support.debezium import envelope, order_row
from tests.support.norm_records import app_event, app_event_value

EVENT = app_event(1, "Charged", 1_764_000_100_000_000, platform="android", amount="12.50")


def _header(value: bytes) -> list[tuple[str, bytes | None]]:
    return [("trace", b"t1"), (SCHEMA_HEADER, value)]


def test_the_header_is_the_full_name_and_the_fingerprint_of_the_recorded_version() -> None:
    history = History()
    for record in current_schemas():
        latest = history.versions(record)[-1]
        header = schema_id(avro_schema(record)).decode()
        assert re.fullmatch(r"headwater\.[a-z.]+\.[A-Za-z]+@[0-9a-f]{16}", header)
        assert header == f"{latest.full_name}@{latest.fingerprint}"


def test_the_normalizers_put_it_on_every_record() -> None:
    [output] = normalize(*envelope("c", after=order_row(1)))
    assert output.headers == [(SCHEMA_HEADER, schema_id(avro_schema("norm/cdc_row")))]
    assert decode_change(output.value or b"", output.headers).values["id"] == 1


def test_a_record_of_the_current_version_reads_as_written() -> None:
    schema = avro_schema("norm/app_event")
    value = encode(schema, EVENT)
    record = record_reader("norm/app_event")(value, _header(schema_id(schema)))
    assert record == EVENT | {
        "occurred_at": datetime(2025, 11, 24, 16, 0, 0, 1, tzinfo=UTC),
        "fetched_at": datetime(2025, 11, 24, 16, 1, 40, tzinfo=UTC),
    }


def test_a_legacy_header_names_the_first_recorded_version_of_its_record() -> None:
    value = app_event_value(3, "Installed")
    record = record_reader("norm/app_event")(value, _header(b"headwater.norm.app.AppEvent"))
    assert (record["event_id"], record["event_name"]) == ("e3", "Installed")


def test_a_record_without_the_header_is_read_as_the_first_recorded_version() -> None:
    record = record_reader("norm/app_event")(app_event_value(4, "Launched"), [("trace", b"t")])
    assert record["event_name"] == "Launched"


def _older_and_newer() -> tuple[dict[str, Any], dict[str, Any]]:
    """AppEvent before ``country`` was appended, and after."""
    newer = json.loads(json.dumps(schema_json("norm/app_event")))
    newer["fields"].append({"name": "country", "type": ["null", "string"], "default": None})
    return schema_json("norm/app_event"), newer


def test_headers_of_every_version_and_the_legacy_one_resolve_to_the_reader() -> None:
    older, newer = _older_and_newer()
    writers = WriterSchemas([older, newer])
    read = RecordReader(parse_schema(newer), writers)
    old_value = encode(parse_schema(older), EVENT)
    new_value = encode(parse_schema(newer), EVENT | {"country": "IN"})
    for header in (schema_id(parse_schema(older)), b"headwater.norm.app.AppEvent"):
        assert read(old_value, _header(header))["country"] is None
    assert read(old_value, [])["country"] is None  # no header: the first version
    assert read(new_value, _header(schema_id(parse_schema(newer))))["country"] == "IN"


def test_an_unknown_fingerprint_is_a_terminal_decode_error_that_names_the_header() -> None:
    header = b"headwater.norm.app.AppEvent@0123456789abcdef"
    with pytest.raises(UnknownWriterSchema) as raised:
        record_reader("norm/app_event")(app_event_value(1, "x"), _header(header))
    assert raised.value.reason == f"unknown writer schema {header.decode()}"
    assert isinstance(raised.value, DECODE_ERRORS)


def test_an_unknown_legacy_name_is_unknown_too() -> None:
    with pytest.raises(UnknownWriterSchema, match=r"unknown writer schema headwater\.Nothing"):
        record_reader("norm/app_event")(app_event_value(1, "x"), _header(b"headwater.Nothing"))


def test_a_writer_of_another_record_is_not_read_as_this_one() -> None:
    value = app_event_value(1, "x")
    other = schema_id(avro_schema("norm/app_event"))
    with pytest.raises(UndecodableRecord, match=r"cannot be read as headwater\.norm\.ads"):
        record_reader("norm/ad_performance_daily")(value, _header(other))


def test_a_record_as_written_for_showing_it() -> None:
    schema = avro_schema("norm/app_event")
    value = encode(schema, EVENT)
    assert read_as_written(value, _header(schema_id(schema)))["event_name"] == "Charged"
    assert read_as_written(b'{"json": true}', [("trace", b"t")]) is None

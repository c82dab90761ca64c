"""Records written before each allowed schema change stay readable after it.

Each case records an old and a new version of a schema in a schema history (as
``python -m schemas.history record`` does), writes a record with the old one as the services
do (``encode`` and its ``schema_id`` header), and reads it with the new one as the sinks and
the processor do (``RecordReader``); the compatibility check of ``make lint`` agrees.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema

from headwater.avro import (
    DECODE_ERRORS,
    SCHEMA_HEADER,
    RecordReader,
    WriterSchemas,
    encode,
    schema_id,
)
from schemas import schema_json
from schemas.check import incompatibilities
from schemas.history import History
from tests.support.avro_samples import SAMPLE, SAMPLE_RECORD, changed
from tests.support.norm_records import app_event

FETCHED_AT = 1_764_000_100_000_000
EVENT = app_event(1, "Charged", FETCHED_AT, platform="android", utm_source="facebook")
APP_EVENT = schema_json("norm/app_event")
OPTIONAL = ["null", "string"]


@dataclass(frozen=True)
class Change:
    """One allowed change: the schemas before and after, a record written before it, and
    what the new reader reads from that record."""

    name: str
    before: dict[str, Any]
    after: dict[str, Any]
    written: dict[str, Any]
    read: dict[str, Any]


def _inserted(schema: dict[str, Any], at: int, field: dict[str, Any]) -> dict[str, Any]:
    after = copy.deepcopy(schema)
    after["fields"].insert(at, field)
    return after


CHANGES = [
    Change("append an optional field", APP_EVENT,
           changed(APP_EVENT, country={"name": "country", "type": OPTIONAL, "default": None}),
           EVENT, {"country": None, "fetched_at": FETCHED_AT}),
    Change("insert an optional field mid-record", APP_EVENT,
           _inserted(APP_EVENT, 3, {"name": "session_id", "type": OPTIONAL, "default": None}),
           EVENT, {"session_id": None, "fetched_at": FETCHED_AT}),
    Change("remove a field that had a default", APP_EVENT, changed(APP_EVENT, utm_source=None),
           EVENT, {"utm_campaign": None, "fetched_at": FETCHED_AT}),
    Change("widen int to long", SAMPLE, changed(SAMPLE, count={"name": "count", "type": "long"}),
           SAMPLE_RECORD, {"count": 7}),
    Change("widen float to double", SAMPLE,
           changed(SAMPLE, ratio={"name": "ratio", "type": "double"}), SAMPLE_RECORD,
           {"ratio": 0.5}),
    Change("add a union branch", SAMPLE,
           changed(SAMPLE, label={"name": "label", "type": [*OPTIONAL, "long"], "default": None}),
           SAMPLE_RECORD, {"label": "x"}),
    Change("add an enum symbol", SAMPLE,
           changed(SAMPLE, kind={"name": "kind", "type": {"type": "enum", "name": "Kind",
                                                           "symbols": ["a", "b", "c"]}}),
           SAMPLE_RECORD, {"kind": "b"}),
    Change("rename a field with an alias", SAMPLE,
           changed(SAMPLE, label={"name": "title", "aliases": ["label"], "type": OPTIONAL,
                                  "default": None}),
           SAMPLE_RECORD, {"title": "x"}),
    Change("make a field optional", SAMPLE, changed(SAMPLE, id={"name": "id", "type": OPTIONAL}),
           SAMPLE_RECORD, {"id": "s1"}),
    Change("add a field with a default", SAMPLE,
           changed(SAMPLE, weight={"name": "weight", "type": "double", "default": 1.0}),
           SAMPLE_RECORD, {"weight": 1.0}),
]  # fmt: skip


def _versions(tmp_path: Path, before: dict[str, Any], after: dict[str, Any]) -> WriterSchemas:
    """Both versions recorded in a schema history, as the readers load them."""
    history = History(tmp_path / "history")
    for schema in (before, after):
        assert history.record("test/evolving", json.dumps(schema)) is not None
    return WriterSchemas.of(history.versions("test/evolving"))


@pytest.mark.parametrize("case", CHANGES, ids=[case.name for case in CHANGES])
def test_a_record_written_before_the_change_reads_after_it(tmp_path: Path, case: Change) -> None:
    after = case.after
    writers = _versions(tmp_path, case.before, after)
    old = parse_schema(case.before)
    value = encode(old, case.written)

    record = RecordReader(parse_schema(after), writers)(value, [(SCHEMA_HEADER, schema_id(old))])

    assert {field["name"] for field in after["fields"]} == set(record)
    for name, expected in case.read.items():
        if name == "fetched_at":
            expected = datetime.fromtimestamp(expected / 1_000_000, UTC)
        assert record[name] == expected, name
    assert incompatibilities(after, case.before) == []


def test_without_the_writer_schema_an_old_record_reads_wrong_or_not_at_all(
    tmp_path: Path,
) -> None:
    """Why the header matters: the old bytes read with the new schema alone give a version
    (fetched_at) of 1970, or fail; with the writer's schema they give the right one."""
    after = CHANGES[1].after
    old = parse_schema(APP_EVENT)
    value = encode(old, EVENT)
    alone = RecordReader(parse_schema(after), WriterSchemas([after]))
    try:
        misread = alone(value, [])["fetched_at"]
    except DECODE_ERRORS:  # past the end, or a union branch that is not there
        misread = None
    assert misread != datetime.fromtimestamp(FETCHED_AT / 1_000_000, UTC)
    resolved = RecordReader(parse_schema(after), _versions(tmp_path, APP_EVENT, after))
    record = resolved(value, [(SCHEMA_HEADER, schema_id(old))])
    assert record["fetched_at"] == datetime.fromtimestamp(FETCHED_AT / 1_000_000, UTC)

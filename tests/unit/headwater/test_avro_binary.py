"""The hand-written Avro encoding gives fastavro's bytes, and falls back to it when unsure."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from headwater.avro import encode
from headwater.avro_binary import FlatRecordWriter, long_bytes
from schemas import avro_schema

SCHEMAS = ["norm/ad_performance_daily", "norm/app_event", "metrics/campaign_kpis_daily"]


def _value(kind: Any, chooser: random.Random) -> Any:
    if kind == "string":
        return "".join(
            chooser.choice(string.printable + "éß€😀") for _ in range(chooser.randrange(12))
        )
    if kind in ("long", "int") or (isinstance(kind, dict) and kind.get("type") in ("long", "int")):
        return chooser.choice(
            [
                0,
                -1,
                1,
                63,
                -64,
                64,
                8191,
                -8192,
                2**31,
                -(2**40),
                2**62,
                chooser.randrange(-(2**63), 2**63),
            ]
        )
    if kind == ["null", "string"]:
        return None if chooser.random() < 0.3 else _value("string", chooser)
    if isinstance(kind, dict) and kind.get("type") == "enum":
        return chooser.choice(kind["symbols"])
    raise AssertionError(kind)


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_same_bytes_as_fastavro(name: str) -> None:
    schema = avro_schema(name)
    write = FlatRecordWriter(schema)
    chooser = random.Random(name)
    for _ in range(500):
        record = {f["name"]: _value(f["type"], chooser) for f in schema["fields"]}
        assert write(record) == encode(schema, record)


def test_values_outside_the_layout_go_through_fastavro() -> None:
    schema = avro_schema("norm/app_event")
    write = FlatRecordWriter(schema)
    record = {f["name"]: None for f in schema["fields"]} | {
        "event_id": "e", "account_id": "a", "event_name": "n", "occurred_at": 5, "fetched_at": 7
    }  # fmt: skip
    assert write(record) == encode(schema, record)
    with pytest.raises((ValueError, TypeError)):
        write(record | {"event_id": 12})  # fastavro's error, not a silent wrong encoding


def test_zigzag_varints() -> None:
    assert [long_bytes(n) for n in (0, -1, 1, -64, 64, 8191, -8193)] == [
        b"\x00", b"\x01", b"\x02", b"\x7f", b"\x80\x01", b"\xfe\x7f", b"\x81\x80\x01"
    ]  # fmt: skip

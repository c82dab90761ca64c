"""Avro records that no reader of our schemas can decode, and values the warehouse refuses,
generated from a schema and one good record of it."""

from __future__ import annotations

import copy
import io
import itertools
import json
from collections.abc import Callable
from typing import Any

from fastavro import parse_schema, schemaless_writer

from headwater.avro import SCHEMA_HEADER, encode, schema_id
from schemas import avro_schema, schema_json
from sinks.upsert import columns_of
from tests.support.bad_inputs import Bad
from tests.support.norm_records import AFTER_YEAR_9999_US, BEFORE_YEAR_1_US

#: What a reason says when a record does not decode: the record it is not (the sinks and the
#: KPI stages say so today), or the schema or decoding (how another change may put it).
UNDECODABLE = ("not a ", "schema", "decod")
#: Values no ``numeric(p,s)`` column takes, whatever p and s are.
NOT_NUMBERS = ("12,50", "Infinity", "-Infinity", "", "0x10", "1e", "5 EUR", "١٢٣", "1\x005")


def written(document: dict[str, Any], record: dict[str, Any]) -> bytes:
    """``record`` written with a schema of our own making (another writer's)."""
    buffer = io.BytesIO()
    schemaless_writer(buffer, parse_schema(document), record)
    return buffer.getvalue()


def _first(fields: list[dict[str, Any]], kind: Callable[[Any], bool]) -> int:
    return next(n for n, field in enumerate(fields) if kind(field["type"]))


def undecodable(
    record: str, good: dict[str, Any], other: bytes, other_headers: tuple[tuple[str, bytes], ...]
) -> list[Bad]:
    """Records of the ``record`` topic that do not decode: broken, another writer's, another
    schema's. ``other`` is a good record of another of our schemas, with its headers."""
    document = schema_json(record)
    fields = document["fields"]
    value = encode(avro_schema(record), good)
    headers = ((SCHEMA_HEADER, schema_id(avro_schema(record))),)

    def changed(field: int, kind: Any, replacement: Any) -> bytes:
        writer = copy.deepcopy(document)
        writer["fields"][field]["type"] = kind
        return written(writer, good | {fields[field]["name"]: replacement})

    text = _first(fields, lambda kind: kind == "string")
    union = _first(fields, lambda kind: isinstance(kind, list))
    mystery = written(
        {"type": "record", "name": "Mystery", "namespace": "elsewhere",
         "fields": [{"name": "x", "type": "long"}, {"name": "y", "type": "string"}]},
        {"x": 5, "y": "?"},
    )  # fmt: skip
    cases = [
        ("empty value", b"", headers),
        ("one zero byte", b"\x00", headers),
        ("truncated Avro", value[: len(value) // 2], headers),
        ("truncated by one byte", value[:-1], headers),
        ("random bytes", bytes(range(256)) * 3, headers),
        ("all 0xff", b"\xff" * 64, headers),
        ("JSON instead of Avro", json.dumps(good, default=str).encode(), headers),
        ("a record of an unknown schema", mystery, ((SCHEMA_HEADER, b"elsewhere.Mystery"),)),
        ("a record of another of our schemas", other, other_headers),
        ("a negative string length", changed(text, "long", -5), headers),
        ("a string longer than the record", changed(text, "long", 10**6), headers),
        ("invalid UTF-8", changed(text, "bytes", b"\xff\xfe\xfd"), headers),
        (
            "a union branch beyond the union",
            changed(union, ["null", "string", "long", "double", "boolean", "bytes"], b"x"),
            headers,
        ),
        ("an overlong varint", b"\xff" * 10 + b"\x01" + value, headers),
    ]
    for n, field in enumerate(fields):
        kind = field["type"]
        if isinstance(kind, dict) and kind.get("type") == "enum":
            grown = dict(kind, symbols=[*kind["symbols"], "unheard_of"])
            cases.append(
                (
                    f"{field['name']}: an unknown enum symbol",
                    changed(n, grown, "unheard_of"),
                    headers,
                )
            )
        if isinstance(kind, dict) and kind.get("logicalType") == "timestamp-micros":
            for when, micros in (
                ("before year 1", BEFORE_YEAR_1_US),
                ("after 9999", AFTER_YEAR_9999_US),
            ):
                cases.append(
                    (
                        f"{field['name']} {when}",
                        encode(avro_schema(record), good | {field["name"]: micros}),
                        headers,
                    )
                )
        if isinstance(kind, dict) and kind.get("logicalType") == "date":
            for when, days in (("before year 1", -800_000), ("after 9999", 3_000_000)):
                cases.append(
                    (
                        f"{field['name']} {when}",
                        encode(avro_schema(record), good | {field["name"]: days}),
                        headers,
                    )
                )
    return [Bad(name, data, UNDECODABLE, headers=h) for name, data, h in cases]


def refused_by_columns(record: str, make: Callable[[int], dict[str, Any]]) -> list[Bad]:
    """Records that decode, with a value their warehouse column refuses: a NUL in text
    (PostgreSQL's text holds none), a numeric(p,s) too large or no number at all, a date
    that is none. ``make(n)`` is a good record whose key no other ``n`` has (a writer keeps
    one record per key and batch: the newest)."""
    schema = avro_schema(record)
    cases: list[Bad] = []
    headers = ((SCHEMA_HEADER, schema_id(schema)),)
    keys = itertools.count()

    def bad(case: str, name: str, value: Any, reason: str | tuple[str, ...]) -> None:
        data = encode(schema, make(next(keys)) | {name: value})
        cases.append(Bad(case, data, reason, headers=headers))

    numerics = 0
    for column in columns_of(record):
        avro_type = next(
            f["type"] for f in schema_json(record)["fields"] if f["name"] == column.name
        )
        is_text = avro_type in ("string", ["null", "string"])
        if column.sql_type == "text" and is_text:
            bad(f"{column.name}: a NUL byte", column.name, "nul\x00byte", "NUL")
            bad(f"{column.name}: only a NUL byte", column.name, "\x00", "NUL")
        elif column.sql_type.startswith("numeric(") and is_text:
            precision, scale = map(int, column.sql_type[len("numeric(") : -1].split(","))
            whole = precision - scale
            bad(
                f"{column.name}: overflows {column.sql_type}", column.name, f"1e{whole}", "overflow"
            )
            rounded = "9" * whole + "." + "9" * (scale + 1)
            bad(f"{column.name}: rounds to overflow", column.name, rounded, "overflow")
            # every column gets two; the first gets them all
            for text in NOT_NUMBERS if numerics == 0 else NOT_NUMBERS[:2]:
                bad(f"{column.name}: {text!r}", column.name, text, ("numeric", "NUL", "infinite"))
            numerics += 1
        elif column.sql_type == "date" and is_text:
            for text in ("2026-02-30", "someday", "", "0000-01-01"):
                bad(f"{column.name}: {text!r}", column.name, text, ("date", "out of range"))
    return cases

"""Avro encoding for the topics we own: schemaless binary, the schema named in a header."""

from __future__ import annotations

import io
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

SCHEMA_HEADER = "headwater.schema"


def encode(schema: Any, record: dict[str, Any]) -> bytes:
    """Serialize one record with a parsed schema."""
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


def decode(schema: Any, data: bytes) -> dict[str, Any]:
    """Deserialize one record written with ``schema``."""
    record = schemaless_reader(io.BytesIO(data), schema, schema)
    if not isinstance(record, dict):
        raise TypeError(f"expected an Avro record, got {type(record).__name__}")
    return record


def schema_id(schema: Any) -> bytes:
    """The header value that names a schema: its full name."""
    return str(schema["name"]).encode()

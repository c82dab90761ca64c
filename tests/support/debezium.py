"""Debezium PostgreSQL change events as the connector writes them with JsonConverter.

Shapes follow Debezium 3.x with decimal.handling.mode=precise,
time.precision.mode=adaptive_time_microseconds and column.propagate.source.type=.*.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any


def _field(
    column: str, kind: str, source_type: str, optional: bool = True, **extra: Any
) -> dict[str, Any]:
    parameters = {
        "__debezium.source.column.type": source_type,
        "__debezium.source.column.name": column,
    }
    parameters.update(extra.pop("parameters", {}))
    return {"type": kind, "optional": optional, "field": column, "parameters": parameters, **extra}


ORDER_FIELDS = [
    _field("id", "int64", "INT8", optional=False),
    _field("customer_id", "int64", "INT8", optional=False),
    _field("quantity", "int16", "INT2"),
    _field("items", "int32", "INT4"),
    _field(
        "amount",
        "bytes",
        "NUMERIC",
        name="org.apache.kafka.connect.data.Decimal",
        version=1,
        parameters={
            "scale": "2",
            "connect.decimal.precision": "12",
            "__debezium.source.column.length": "12",
            "__debezium.source.column.scale": "2",
        },
    ),
    _field("currency", "string", "TEXT"),
    _field("status", "string", "VARCHAR", parameters={"__debezium.source.column.length": "20"}),
    _field("is_gift", "boolean", "BOOL"),
    _field("order_date", "int32", "DATE", name="io.debezium.time.Date", version=1),
    _field(
        "local_created", "int64", "TIMESTAMP", name="io.debezium.time.MicroTimestamp", version=1
    ),
    _field(
        "created_at", "string", "TIMESTAMPTZ", name="io.debezium.time.ZonedTimestamp", version=1
    ),
    _field("metadata", "string", "JSONB", name="io.debezium.data.Json", version=1),
    _field("order_uuid", "string", "UUID", name="io.debezium.data.Uuid", version=1),
    _field("notes", "string", "TEXT"),
]


def decimal_bytes(value: str, scale: int) -> str:
    """Connect's Decimal: base64 of the big-endian two's-complement unscaled value."""
    unscaled = int(Decimal(value).scaleb(scale))
    length = max(1, (unscaled.bit_length() + 8) // 8)
    return base64.b64encode(unscaled.to_bytes(length, "big", signed=True)).decode()


def order_row(order_id: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": order_id,
        "customer_id": 7,
        "quantity": 2,
        "items": 3,
        "amount": decimal_bytes("1234.50", 2),
        "currency": "EUR",
        "status": "paid",
        "is_gift": False,
        "order_date": 20_000,
        "local_created": 1_764_000_000_123_456,
        "created_at": "2026-11-25T10:15:30.123456Z",
        "metadata": '{"utm": {"source": "facebook"}, "tags": ["ß", "東京"]}',
        "order_uuid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "notes": "Zoë Ångström 🚀",
    }
    row.update(overrides)
    return row


def envelope(
    op: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    lsn: int = 1000,
    schema: str = "public",
    table: str = "orders",
    fields: list[dict[str, Any]] | None = None,
) -> tuple[bytes | None, bytes]:
    """The (key, value) Debezium writes for one change."""
    row_fields = fields if fields is not None else ORDER_FIELDS
    row_schema = {
        "type": "struct",
        "fields": row_fields,
        "optional": True,
        "name": f"cdc.app.{schema}.{table}.Value",
    }
    value = {
        "schema": {
            "type": "struct",
            "name": f"cdc.app.{schema}.{table}.Envelope",
            "fields": [
                {**row_schema, "field": "before"},
                {**row_schema, "field": "after"},
                {
                    "type": "struct",
                    "field": "source",
                    "name": "io.debezium.connector.postgresql.Source",
                    "fields": [],
                },
                {"type": "string", "field": "op"},
                {"type": "int64", "field": "ts_ms", "optional": True},
            ],
        },
        "payload": {
            "before": before,
            "after": after,
            "source": {
                "version": "3.6.1.Final",
                "connector": "postgresql",
                "name": "cdc.app",
                "ts_ms": 1_764_065_730_123,
                "ts_us": 1_764_065_730_123_456,
                "snapshot": "false",
                "db": "app",
                "schema": schema,
                "table": table,
                "txId": 771,
                "lsn": lsn,
                "xmin": None,
            },
            "op": op,
            "ts_ms": 1_764_065_730_200,
        },
    }
    row = after or before
    key = None
    if row is not None and op != "t":
        key = json.dumps(
            {"schema": {"type": "struct", "fields": [row_fields[0]]}, "payload": {"id": row["id"]}}
        ).encode()
    return key, json.dumps(value).encode()

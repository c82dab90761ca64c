"""Debezium PostgreSQL change events as the connector writes them with JsonConverter.

Shapes follow Debezium 3.x with decimal.handling.mode=precise and
time.precision.mode=adaptive_time_microseconds. ``envelope`` and ``ORDER_FIELDS`` are records
as the connector wrote them before ``datatype.propagate.source.type`` (every column with its
source type, keys with their schema), which stay in the cdc.* topics; ``column_schema`` gives
a column's field schema either way.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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


# --- Column schemas by PostgreSQL type -------------------------------------------------------

#: Debezium's length for a type without one (Integer.MAX_VALUE).
UNBOUNDED = 2_147_483_647


@dataclass(frozen=True)
class SourceType:
    """How Debezium 3.x describes a column of one PostgreSQL type, with our connector settings."""

    #: ``__debezium.source.column.type``: the ``pg_type`` name, upper case.
    reported: str
    #: The Connect type, as JsonConverter names it.
    kind: str
    #: The Connect logical type, if any.
    name: str | None = None
    #: Connect's own schema parameters (those that are there without any propagation).
    parameters: Mapping[str, str] = field(default_factory=dict)
    length: int = UNBOUNDED
    scale: int = 0
    #: Further keys of the field schema: an array's items, a struct's fields, a serial's
    #: NOT NULL and default.
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: Snapshots read the columns from JDBC metadata, where some differ from what streaming
    #: reads: ``type``, ``length`` or ``scale`` as snapshot records carry them (None: absent).
    snapshot: Mapping[str, str | None] = field(default_factory=dict)


def _decimal(precision: int, scale: int) -> SourceType:
    parameters = {"scale": str(scale), "connect.decimal.precision": str(precision)}
    name = "org.apache.kafka.connect.data.Decimal"
    return SourceType("NUMERIC", "bytes", name, parameters, length=precision, scale=scale)


#: A serial column is NOT NULL, and Debezium gives its field the default 0.
_SERIAL: Mapping[str, Any] = {"optional": False, "default": 0}

_VARIABLE_SCALE = SourceType(
    "NUMERIC",
    "struct",
    "io.debezium.data.VariableScaleDecimal",
    length=131_089,
    snapshot={"length": "0", "scale": None},
    extra={
        "fields": [
            {"type": "int32", "optional": False, "field": "scale"},
            {"type": "bytes", "optional": False, "field": "value"},
        ],
        "doc": "Variable scaled decimal",
    },
)

#: Every PostgreSQL type the mirror handles, by its spelling in DDL, as Debezium 3.6 emits it
#: (``decimal.handling.mode=precise``, ``time.precision.mode=adaptive_time_microseconds``).
#: tests/integration/connectors/test_debezium_postgres.py checks it against the real connector.
SOURCE_TYPES: dict[str, SourceType] = {
    "smallint": SourceType("INT2", "int16", length=5),
    "int2": SourceType("INT2", "int16", length=5),
    "smallserial": SourceType(
        "INT2", "int16", length=5, extra=_SERIAL, snapshot={"type": "SMALLSERIAL"}
    ),
    "integer": SourceType("INT4", "int32", length=10),
    "int4": SourceType("INT4", "int32", length=10),
    "serial": SourceType("INT4", "int32", length=10, extra=_SERIAL, snapshot={"type": "SERIAL"}),
    "bigint": SourceType("INT8", "int64", length=19),
    "int8": SourceType("INT8", "int64", length=19),
    "bigserial": SourceType(
        "INT8", "int64", length=19, extra=_SERIAL, snapshot={"type": "BIGSERIAL"}
    ),
    "oid": SourceType("OID", "int64", length=10),
    "text": SourceType("TEXT", "string"),
    "name": SourceType("NAME", "string"),
    "citext": SourceType("CITEXT", "string"),
    "boolean": SourceType("BOOL", "boolean", length=1),
    "bool": SourceType("BOOL", "boolean", length=1),
    "date": SourceType("DATE", "int32", "io.debezium.time.Date", length=13),
    "time": SourceType("TIME", "int64", "io.debezium.time.MicroTime", length=15, scale=6),
    "time(3)": SourceType("TIME", "int64", "io.debezium.time.MicroTime", length=12, scale=3),
    "timetz": SourceType("TIMETZ", "string", "io.debezium.time.ZonedTime", length=21, scale=6),
    "timestamp": SourceType(
        "TIMESTAMP", "int64", "io.debezium.time.MicroTimestamp", length=29, scale=6
    ),
    "timestamp(3)": SourceType(
        "TIMESTAMP", "int64", "io.debezium.time.Timestamp", length=26, scale=3
    ),
    "timestamptz": SourceType(
        "TIMESTAMPTZ", "string", "io.debezium.time.ZonedTimestamp", length=35, scale=6
    ),
    "jsonb": SourceType("JSONB", "string", "io.debezium.data.Json"),
    "json": SourceType("JSON", "string", "io.debezium.data.Json"),
    "uuid": SourceType("UUID", "string", "io.debezium.data.Uuid"),
    "bytea": SourceType("BYTEA", "bytes"),
    "real": SourceType("FLOAT4", "float", length=8, scale=8),
    "float4": SourceType("FLOAT4", "float", length=8, scale=8),
    "double precision": SourceType("FLOAT8", "double", length=17, scale=17),
    "float8": SourceType("FLOAT8", "double", length=17, scale=17),
    "interval": SourceType(
        "INTERVAL", "int64", "io.debezium.time.MicroDuration", length=49, scale=6
    ),
    "inet": SourceType("INET", "string"),
    "cidr": SourceType("CIDR", "string"),
    "macaddr": SourceType("MACADDR", "string"),
    "numeric": _VARIABLE_SCALE,
    "decimal": _VARIABLE_SCALE,
    "numeric(12,2)": _decimal(12, 2),
    "numeric(14,4)": _decimal(14, 4),
    "decimal(9,0)": _decimal(9, 0),
    "varchar": SourceType("VARCHAR", "string"),
    "varchar(20)": SourceType("VARCHAR", "string", length=20),
    "character varying": SourceType("VARCHAR", "string"),
    "character varying(7)": SourceType("VARCHAR", "string", length=7),
    "bpchar": SourceType("BPCHAR", "string"),
    "char": SourceType("BPCHAR", "string", length=1),
    "char(3)": SourceType("BPCHAR", "string", length=3),
    "character": SourceType("BPCHAR", "string", length=1),
    "character(5)": SourceType("BPCHAR", "string", length=5),
    '"char"': SourceType("CHAR", "string", length=1),
    "money": SourceType("MONEY", "bytes", "org.apache.kafka.connect.data.Decimal", {"scale": "2"}),
    "xml": SourceType("XML", "string", "io.debezium.data.Xml"),
    "bit": SourceType("BIT", "boolean", length=1),
    "bit(8)": SourceType("BIT", "bytes", "io.debezium.data.Bits", {"length": "8"}, length=8),
    "int4[]": SourceType(
        "_INT4", "array", length=10, extra={"items": {"type": "int32", "optional": True}}
    ),
    "text[]": SourceType("_TEXT", "array", extra={"items": {"type": "string", "optional": True}}),
}


def column_schema(
    column: str,
    ddl_type: str,
    *,
    propagated: bool,
    snapshot: bool = False,
    reported: str | None = None,
) -> dict[str, Any]:
    """The field schema Debezium writes for a column, with or without its source type.

    ``snapshot``: as a snapshot record has it. ``reported`` replaces the type name, which a
    snapshot qualifies with its schema when the type is not on the search path (``citext``).
    """
    source = SOURCE_TYPES[ddl_type]
    parameters = dict(source.parameters)
    if propagated:
        propagation: dict[str, str | None] = {
            "type": reported or source.reported,
            "length": str(source.length),
            "scale": str(source.scale),
        }
        if snapshot:
            propagation |= source.snapshot
        parameters |= {
            f"__debezium.source.column.{key}": value
            for key, value in propagation.items()
            if value is not None
        }
        parameters["__debezium.source.column.name"] = column
    schema: dict[str, Any] = {"type": source.kind, "optional": True, **source.extra}
    if source.name is not None:
        schema |= {"name": source.name, "version": 1}
    if parameters:
        schema["parameters"] = parameters
    return schema | {"field": column}


def propagates(setting: str, table_id: str, type_name: str) -> bool:
    """Whether ``datatype.propagate.source.type`` selects a column type, as Debezium decides.

    Debezium splits the setting at commas and matches each regex, whole and ignoring case,
    against ``<table id>.<type name>`` (``io.debezium.relational.mapping.ColumnMappers``).
    """
    subject = f"{table_id}.{type_name}"
    return any(
        re.fullmatch(pattern, subject, re.IGNORECASE) for pattern in setting.split(",") if pattern
    )

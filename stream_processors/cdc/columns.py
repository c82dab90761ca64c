"""Debezium (Kafka Connect JSON) column values into the typed values of a ``CdcRow``.

The connector runs with ``decimal.handling.mode=precise``,
``time.precision.mode=adaptive_time_microseconds`` and ``column.propagate.source.type=.*``,
so each field's schema names its Connect logical type and carries the PostgreSQL type in
its parameters. See Debezium's PostgreSQL connector reference, "Data type mappings".
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeGuard

from headwater.errors import RejectedRecord

#: Debezium's ``unavailable.value.placeholder``: an unchanged TOASTed value it did not get.
UNAVAILABLE = "__debezium_unavailable_value"
_UNAVAILABLE_BYTES = UNAVAILABLE.encode()

_SOURCE_TYPE = "__debezium.source.column.type"
_SOURCE_LENGTH = "__debezium.source.column.length"
_SOURCE_SCALE = "__debezium.source.column.scale"

_SQL_TYPES = {
    "INT2": "int2", "SMALLINT": "int2", "SMALLSERIAL": "int2",
    "INT4": "int4", "INTEGER": "int4", "SERIAL": "int4",
    "INT8": "int8", "BIGINT": "int8", "BIGSERIAL": "int8", "OID": "int8",
    "TEXT": "text", "NAME": "text", "CITEXT": "text",
    "BOOL": "bool", "BOOLEAN": "bool",
    "DATE": "date", "TIME": "time", "TIMETZ": "timetz",
    "TIMESTAMP": "timestamp", "TIMESTAMPTZ": "timestamptz",
    "JSONB": "jsonb", "JSON": "json", "UUID": "uuid", "BYTEA": "bytea",
    "FLOAT4": "float4", "REAL": "float4", "FLOAT8": "float8", "DOUBLE PRECISION": "float8",
    "INTERVAL": "text", "INET": "text", "CIDR": "text", "MACADDR": "text",
}  # fmt: skip

_CONNECT_TYPES = {
    "int8": "int2", "int16": "int2", "int32": "int4", "int64": "int8",
    "float": "float4", "double": "float8", "float32": "float4", "float64": "float8",
    "boolean": "bool", "string": "text",
    "bytes": "bytea",
}  # fmt: skip

#: Connect's float types as JsonConverter names them ("float", "double"), and their aliases.
_FLOATS = ("float", "double", "float32", "float64")

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def is_long(value: Any) -> TypeGuard[int]:
    """Whether a JSON value is an integer an Avro long holds (a boolean is not one)."""
    return type(value) is int and _LONG_MIN <= value <= _LONG_MAX


_LOGICAL_TYPES = {
    "org.apache.kafka.connect.data.Decimal": "numeric",
    "io.debezium.data.VariableScaleDecimal": "numeric",
    "io.debezium.time.ZonedTimestamp": "timestamptz",
    "io.debezium.time.MicroTimestamp": "timestamp",
    "io.debezium.time.Timestamp": "timestamp",
    "io.debezium.time.NanoTimestamp": "timestamp",
    "org.apache.kafka.connect.data.Timestamp": "timestamp",
    "io.debezium.time.Date": "date",
    "org.apache.kafka.connect.data.Date": "date",
    "io.debezium.time.MicroTime": "time",
    "io.debezium.time.Time": "time",
    "io.debezium.time.NanoTime": "time",
    "io.debezium.time.ZonedTime": "timetz",
    "io.debezium.data.Json": "jsonb",
    "io.debezium.data.Uuid": "uuid",
}


def sql_type(field: dict[str, Any]) -> str:
    """The PostgreSQL type of a column, from the source type Debezium propagates."""
    parameters = field.get("parameters") or {}
    source = str(parameters.get(_SOURCE_TYPE, "")).upper()
    length = parameters.get(_SOURCE_LENGTH)
    scale = parameters.get(_SOURCE_SCALE)
    if source in ("NUMERIC", "DECIMAL"):
        if length and scale is not None and int(length) < 1000:
            return f"numeric({int(length)},{int(scale)})"
        return "numeric"
    if source in ("VARCHAR", "CHARACTER VARYING"):
        return f"varchar({int(length)})" if length and int(length) < 10_000_000 else "text"
    if source in ("BPCHAR", "CHAR", "CHARACTER"):
        return f"char({int(length)})" if length else "char(1)"
    if source in _SQL_TYPES:
        return _SQL_TYPES[source]
    logical = field.get("name")
    if logical in _LOGICAL_TYPES:
        return _LOGICAL_TYPES[str(logical)]
    if field.get("type") in ("array", "map", "struct"):
        return "jsonb"
    return _CONNECT_TYPES.get(str(field.get("type")), "text")


def column_value(field: dict[str, Any], value: Any) -> tuple[Any, bool]:
    """The Avro value of one column, and whether the source left it out (unchanged TOAST)."""
    if value is None:
        return None, False
    if value == UNAVAILABLE or (field.get("type") == "bytes" and _is_placeholder_bytes(value)):
        return None, True
    logical = field.get("name")
    kind = field.get("type")
    try:
        converted = _convert(logical, kind, field, value)
        if type(converted) is int and not is_long(converted):  # a time scaled up past 64 bits
            raise ValueError("beyond the 64-bit integers")
        return converted, False
    except (ValueError, TypeError, KeyError, binascii.Error) as error:
        raise RejectedRecord(
            f"column {field.get('field')!r}: cannot read {value!r} as {logical or kind}: {error}"
        ) from error


def _is_placeholder_bytes(value: Any) -> bool:
    try:
        return isinstance(value, str) and base64.b64decode(value) == _UNAVAILABLE_BYTES
    except binascii.Error:
        return False


def _convert(logical: Any, kind: Any, field: dict[str, Any], value: Any) -> Any:
    if logical == "org.apache.kafka.connect.data.Decimal":
        scale = int((field.get("parameters") or {})["scale"])
        return _decimal(value, scale)
    if logical == "io.debezium.data.VariableScaleDecimal":
        return _decimal(value["value"], int(value["scale"]))
    if logical == "io.debezium.time.ZonedTimestamp":
        moment = datetime.fromisoformat(str(value))
        return _micros(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    if logical in ("io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp"):
        return _integer(value) * 1000
    if logical in ("io.debezium.time.Time",):
        return _integer(value) * 1000
    if logical in ("io.debezium.time.NanoTimestamp", "io.debezium.time.NanoTime"):
        return _integer(value) // 1000
    if kind in ("int8", "int16", "int32", "int64"):
        return _integer(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError("not a boolean")
        return value
    if kind in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {type(value).__name__}")
        return float(value)
    if kind == "bytes":
        return base64.b64decode(value, validate=True)
    if kind in ("array", "map", "struct"):
        return json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    if not is_long(value):
        raise ValueError("beyond the 64-bit integers")
    return value


def _decimal(encoded: Any, scale: int) -> str:
    unscaled = int.from_bytes(base64.b64decode(encoded, validate=True), "big", signed=True)
    return format(Decimal(unscaled).scaleb(-scale), "f")


def _micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

"""The fast path of CDC normalization: each table's Debezium schema compiled once.

A JsonConverter record is ``{"schema": S, "payload": P}`` where S (about 90 % of the bytes)
is the same for every change of a table until its columns change. The first record of a
schema is parsed whole and S's exact bytes become a known prefix; later records that start
with a known prefix are parsed from the payload on. Each compiled schema holds, per column,
the constant part of its Avro ``Column`` (name, SQL type, nullability) and a converter.

Only the well-formed case is handled here: anything unexpected (a new shape, a value a
converter refuses, a missing block) returns None and the caller runs the reference
normalizer, which gives the same outputs or the same rejection reason.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from headwater.avro import SCHEMA_HEADER, schema_id
from headwater.avro_binary import double_bytes, long_bytes, raw_bytes, string_bytes
from headwater.topology import norm_cdc_topic
from schemas import avro_schema
from stream_processors.cdc.columns import UNAVAILABLE, is_long, sql_type
from stream_processors.cdc.keys import key_payload
from stream_processors.output import Output

_ENVELOPE_START = b'{"schema":'
_PAYLOAD_KEY = b',"payload":'
_OPERATIONS = {"r": 0, "c": 1, "u": 2, "d": 3}  # index in the Avro enum Operation
_UNAVAILABLE_B64 = base64.b64encode(UNAVAILABLE.encode()).decode()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SCHEMAS = 512


class _Refused(Exception):
    """The fast path does not handle this record; the reference normalizer will."""


Converter = Callable[[Any], bytes]  # a column value -> its Avro union branch and value


def _union_long(value: int) -> bytes:
    if not is_long(value):  # a time scaled up past 64 bits: the reference path refuses it
        raise _Refused
    return b"\x04" + long_bytes(value)


def _integer(value: Any) -> int:
    if not is_long(value):  # beyond 64 bits long_bytes would write a corrupt varint
        raise _Refused
    return value


def _converter(field: dict[str, Any]) -> Converter:
    """The converter of one column, mirroring ``columns._convert`` for well-formed values."""
    logical, kind = field.get("name"), field.get("type")
    if logical == "org.apache.kafka.connect.data.Decimal":
        scale = int((field.get("parameters") or {})["scale"])
        return lambda value: _decimal_string(value, scale)
    if logical == "io.debezium.data.VariableScaleDecimal":
        return lambda value: _decimal_string(value["value"], int(value["scale"]))
    if logical == "io.debezium.time.ZonedTimestamp":
        return _zoned_timestamp
    if logical in (
        "io.debezium.time.Timestamp",
        "org.apache.kafka.connect.data.Timestamp",
        "io.debezium.time.Time",
    ):
        return lambda value: _union_long(_integer(value) * 1000)
    if logical in ("io.debezium.time.NanoTimestamp", "io.debezium.time.NanoTime"):
        return lambda value: _union_long(_integer(value) // 1000)
    if kind in ("int8", "int16", "int32", "int64"):
        return lambda value: _union_long(_integer(value))
    if kind == "boolean":
        return _boolean
    if kind in ("float", "double", "float32", "float64"):
        return _double
    if kind == "bytes":
        return _bytes
    if kind in ("array", "map", "struct"):
        return lambda value: b"\x08" + string_bytes(json.dumps(value, ensure_ascii=False))
    return _string


def _decimal_string(encoded: Any, scale: int) -> bytes:
    if type(encoded) is not str:
        raise _Refused
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise _Refused from None
    unscaled = int.from_bytes(raw, "big", signed=True)
    return b"\x08" + string_bytes(format(Decimal(unscaled).scaleb(-scale), "f"))


def _zoned_timestamp(value: Any) -> bytes:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise _Refused from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return _union_long((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


def _boolean(value: Any) -> bytes:
    if value is True:
        return b"\x02\x01"
    if value is False:
        return b"\x02\x00"
    raise _Refused


def _double(value: Any) -> bytes:
    if type(value) not in (int, float):
        raise _Refused
    return b"\x06" + double_bytes(float(value))


def _bytes(value: Any) -> bytes:
    if type(value) is not str:
        raise _Refused
    try:
        return b"\x0a" + raw_bytes(base64.b64decode(value, validate=True))
    except binascii.Error:
        raise _Refused from None


def _string(value: Any) -> bytes:
    if type(value) is not str:
        raise _Refused
    return b"\x08" + string_bytes(value)


class _Column:
    """One column of a compiled image: its constant Avro prefixes and its converter."""

    __slots__ = ("convert", "is_bytes", "name", "null", "toast", "value")

    def __init__(self, field: dict[str, Any]) -> None:
        self.name = str(field.get("field"))
        nullable = bool(field.get("optional", True))
        prefix = (
            string_bytes(self.name)
            + string_bytes(sql_type(field))
            + (b"\x01" if nullable else b"\x00")
        )
        self.null = prefix + b"\x00\x00"  # unchanged false, value null
        self.toast = prefix + b"\x01\x00"  # unchanged true, value null
        self.value = prefix + b"\x00"  # unchanged false, then the converter's branch and value
        self.convert = _converter(field)
        self.is_bytes = field.get("type") == "bytes"


class _Table:
    """A compiled Debezium value schema: the row images' columns."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.images: dict[str, list[_Column]] = {}
        for envelope_field in schema.get("fields") or []:
            fields = envelope_field.get("fields")
            if envelope_field.get("field") in ("before", "after") and isinstance(fields, list):
                self.images[str(envelope_field["field"])] = [_Column(f) for f in fields]
        self._deletes: dict[tuple[str, ...], list[_Column]] = {}
        self._names: dict[tuple[bool, tuple[str, ...]], frozenset[str]] = {}

    def names(self, op: int, key_names: tuple[str, ...]) -> frozenset[str]:
        """The names of :meth:`columns`."""
        found = self._names.get((op == 3, key_names))
        if found is None:
            found = self._names[(op == 3, key_names)] = frozenset(
                c.name for c in self.columns(op, key_names)
            )
        return found

    def columns(self, op: int, key_names: tuple[str, ...]) -> list[_Column]:
        """The columns an operation writes (a delete: only the key columns are known)."""
        if op != 3:
            image = self.images.get("after")
            if image is None:
                raise _Refused
            return image
        columns = self._deletes.get(key_names)
        if columns is None:
            image = self.images.get("before")
            if image is None:
                raise _Refused
            columns = self._deletes[key_names] = [c for c in image if c.name in key_names]
        return columns


class CompiledNormalizer:
    """Normalizes well-formed Debezium records with compiled schemas; None when it cannot."""

    def __init__(self) -> None:
        self._tables: OrderedDict[bytes, _Table] = OrderedDict()
        self._schema = avro_schema("norm/cdc_row")
        self._headers = [(SCHEMA_HEADER, schema_id(self._schema))]
        self._names: dict[tuple[str, str], tuple[bytes, str]] = {}

    def __call__(self, key: bytes | None, value: bytes) -> list[Output] | None:
        """The outputs of one change, or None to let the reference normalizer decide."""
        try:
            found = self._payload(value)
            if found is None:
                return None
            table, payload = found
            return self._outputs(table, key, payload)
        except (_Refused, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    def _payload(self, value: bytes) -> tuple[_Table, dict[str, Any]] | None:
        if not value.startswith(_ENVELOPE_START):
            return None
        for prefix, table in self._tables.items():
            if value.startswith(prefix) and value.endswith(b"}"):
                payload = orjson.loads(value[len(prefix) : -1])
                if not isinstance(payload, dict):
                    return None
                self._tables.move_to_end(prefix, last=False)
                return table, payload
        return self._learn(value)

    def _learn(self, value: bytes) -> tuple[_Table, dict[str, Any]] | None:
        envelope = orjson.loads(value)
        if not isinstance(envelope, dict) or list(envelope) != ["schema", "payload"]:
            return None
        schema, payload = envelope["schema"], envelope["payload"]
        if not isinstance(schema, dict) or not isinstance(payload, dict):
            return None
        start = value.find(_PAYLOAD_KEY)
        while start != -1:  # the first ',"payload":' that closes the schema object exactly
            try:
                if orjson.loads(value[len(_ENVELOPE_START) : start]) == schema:
                    break
            except orjson.JSONDecodeError:
                pass
            start = value.find(_PAYLOAD_KEY, start + 1)
        table = _Table(schema)
        if start != -1:
            self._tables[value[: start + len(_PAYLOAD_KEY)]] = table
            self._tables.move_to_end(value[: start + len(_PAYLOAD_KEY)], last=False)
            while len(self._tables) > _MAX_SCHEMAS:
                self._tables.popitem()
        return table, payload

    def _outputs(
        self, table: _Table, key: bytes | None, payload: dict[str, Any]
    ) -> list[Output] | None:
        op = _OPERATIONS.get(payload.get("op"))  # type: ignore[arg-type]
        source = payload.get("source")
        if op is None or key is None or not isinstance(source, dict):
            return None  # truncates, unknown ops, keyless tables: the reference path
        lsn = source.get("lsn")
        schema_name, table_name = source.get("schema"), source.get("table")
        if not is_long(lsn) or not isinstance(schema_name, str) or not isinstance(table_name, str):
            return None
        if not schema_name or not table_name:
            return None
        commit = source.get("ts_us")
        if not is_long(commit):
            millis = source.get("ts_ms")
            if not is_long(millis) or not is_long(millis * 1000):
                return None
            commit = millis * 1000
        tx = source.get("txId")
        key_names, key_bytes = _key(key)
        image = payload.get("before" if op == 3 else "after")
        if not isinstance(image, dict):
            return None
        columns = table.columns(op, key_names)
        parts: list[bytes] = []
        append = parts.append
        for column in columns:
            value = image.get(column.name)
            if value is None:
                append(column.null)
            elif value == UNAVAILABLE or (column.is_bytes and value == _UNAVAILABLE_B64):
                append(column.toast)
            else:
                append(column.value)
                append(column.convert(value))
        for name in key_names:  # every key column has a value the row carries
            value = image.get(name)
            if value is None or value == UNAVAILABLE or name not in table.names(op, key_names):
                return None
        head, topic = self._head(str(schema_name), str(table_name))
        body = b"".join(
            [
                head,
                long_bytes(op),
                long_bytes(lsn),
                long_bytes(commit),
                b"\x02" + long_bytes(tx) if is_long(tx) else b"\x00",
                _strings(key_names),
                long_bytes(len(columns)) + b"".join(parts) + b"\x00" if columns else b"\x00",
            ]
        )
        outputs = [Output(topic, key_bytes, body, self._headers)]
        if op == 3:
            outputs.append(Output(topic, key_bytes, None))
        return outputs

    def _head(self, schema_name: str, table_name: str) -> tuple[bytes, str]:
        found = self._names.get((schema_name, table_name))
        if found is None:
            found = self._names[(schema_name, table_name)] = (
                string_bytes(schema_name) + string_bytes(table_name),
                norm_cdc_topic(schema_name, table_name),
            )
        return found


def _plain(text: str) -> bool:
    """Printable ASCII without escapes: json.dumps and orjson write it alike."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def _strings(values: tuple[str, ...]) -> bytes:
    if not values:
        return b"\x00"
    return long_bytes(len(values)) + b"".join(string_bytes(v) for v in values) + b"\x00"


def _key(key: bytes) -> tuple[tuple[str, ...], bytes]:
    """Primary-key names and the output key, from a key with or without its Connect schema."""
    parsed = orjson.loads(key)
    if not isinstance(parsed, dict):
        raise _Refused
    payload = key_payload(parsed)
    if not isinstance(payload, dict) or not payload:
        raise _Refused
    names = tuple(payload)
    if all(_plain(name) for name in names) and all(
        type(v) is int or (type(v) is str and _plain(v)) for v in payload.values()
    ):
        return names, orjson.dumps(payload)  # the same bytes as json.dumps for these values
    return names, json.dumps(payload, separators=(",", ":"), sort_keys=False).encode()

"""One Debezium change event in, the flat ``CdcRow`` records (and tombstones) out.

Pure functions: the processor feeds them Kafka messages and routes what they reject.
``normalize`` runs the compiled fast path (``compiled.py``) and falls back to
``normalize_reference``, the readable definition, for everything the fast path leaves:
both give the same bytes (a test compares them on a corpus of real envelopes).
"""

from __future__ import annotations

import json
from typing import Any

from headwater.avro import SCHEMA_HEADER, encode, schema_id
from headwater.errors import RejectedRecord
from headwater.topology import norm_cdc_topic
from schemas import avro_schema
from stream_processors.cdc.columns import column_value, is_long, sql_type
from stream_processors.cdc.compiled import CompiledNormalizer
from stream_processors.cdc.keys import key_payload
from stream_processors.output import Output

INCREMENTAL_SNAPSHOT_VERSION = 0
_OPERATIONS = {"r": "SNAPSHOT", "c": "INSERT", "u": "UPDATE", "d": "DELETE", "t": "TRUNCATE"}
_SCHEMA = avro_schema("norm/cdc_row")
_HEADERS = [(SCHEMA_HEADER, schema_id(_SCHEMA))]

_compiled = CompiledNormalizer()


def normalize(key: bytes | None, value: bytes | None) -> list[Output]:
    """Turn one Debezium event into its outputs; raises RejectedRecord with the reason."""
    if value is not None:
        outputs = _compiled(key, value)
        if outputs is not None:
            return outputs
    return normalize_reference(key, value)


def normalize_reference(key: bytes | None, value: bytes | None) -> list[Output]:
    """The definition of :func:`normalize`, one step at a time (the fast path's fallback)."""
    if value is None:
        return []  # Debezium's own tombstone: ours follows the DELETE record instead
    envelope = _json(value, "value")
    payload, schema = envelope.get("payload"), envelope.get("schema")
    if not isinstance(payload, dict) or not isinstance(schema, dict):
        raise RejectedRecord("not a Debezium envelope with schema (JsonConverter schemas.enable)")
    op = _OPERATIONS.get(str(payload.get("op")))
    if op is None:
        raise RejectedRecord(f"unknown Debezium operation {payload.get('op')!r}")
    source = payload.get("source")
    if not isinstance(source, dict):
        raise RejectedRecord("envelope has no source block")
    source_schema, table = _name(source.get("schema")), _name(source.get("table"))
    lsn = source.get("lsn")
    if lsn is None and op == "SNAPSHOT" and source.get("snapshot") == "incremental":
        # Incremental-snapshot rows carry no LSN. Version 0 makes them insert-if-absent: they
        # never overwrite a row the stream wrote, and a recorded delete keeps them out.
        lsn = INCREMENTAL_SNAPSHOT_VERSION
    if not source_schema or not table or not is_long(lsn):
        raise RejectedRecord("source block lacks schema, table or lsn")
    record: dict[str, Any] = {
        "source_schema": source_schema,
        "source_table": table,
        "op": op,
        "lsn": lsn,
        "commit_time": _commit_micros(source),
        "txid": source.get("txId") if is_long(source.get("txId")) else None,
        "primary_key": [],
        "columns": [],
    }
    topic = norm_cdc_topic(source_schema, table)
    if op == "TRUNCATE":
        # Compacted topics need a key; each truncate keeps its own.
        truncate_key = json.dumps({"__truncate__": lsn}).encode()
        return [_output(topic, truncate_key, record)]
    key_names, key_bytes = _primary_key(key)
    record["primary_key"] = key_names
    image = payload.get("before") if op == "DELETE" else payload.get("after")
    if not isinstance(image, dict):
        raise RejectedRecord(f"{op} event without its row image")
    fields = _row_fields(schema, "before" if op == "DELETE" else "after")
    if op == "DELETE":  # with REPLICA IDENTITY DEFAULT only the key columns are known
        fields = [f for f in fields if f.get("field") in key_names]
    record["columns"] = [_column(f, image) for f in fields]
    missing = set(key_names) - {c["name"] for c in record["columns"] if c["value"] is not None}
    if missing:
        raise RejectedRecord(f"primary key column(s) {sorted(missing)} have no value")
    outputs = [_output(topic, key_bytes, record)]
    if op == "DELETE":
        outputs.append(Output(topic, key_bytes, None))
    return outputs


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise RejectedRecord(f"{what} is not JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise RejectedRecord(f"{what} is not a JSON object")
    return parsed


def _name(value: Any) -> str:
    """A schema or table name: text ("" for anything else, which the caller refuses)."""
    return value if isinstance(value, str) else ""


def _commit_micros(source: dict[str, Any]) -> int:
    if is_long(source.get("ts_us")):
        return int(source["ts_us"])
    if is_long(source.get("ts_ms")) and is_long(source["ts_ms"] * 1000):
        return int(source["ts_ms"]) * 1000
    raise RejectedRecord("source block has no commit time (ts_us / ts_ms)")


def _primary_key(key: bytes | None) -> tuple[list[str], bytes]:
    if key is None:
        raise RejectedRecord("event has no key: the table has no primary key")
    payload = key_payload(_json(key, "key"))
    if not isinstance(payload, dict) or not payload:
        raise RejectedRecord("key has no payload with the primary key columns")
    names = list(payload)
    return names, json.dumps(payload, separators=(",", ":"), sort_keys=False).encode()


def _row_fields(schema: dict[str, Any], image: str) -> list[dict[str, Any]]:
    for envelope_field in schema.get("fields") or []:
        if envelope_field.get("field") == image and isinstance(envelope_field.get("fields"), list):
            return list(envelope_field["fields"])
    raise RejectedRecord(f"schema has no {image!r} struct")


def _column(field_schema: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    name = str(field_schema.get("field"))
    value, unchanged = column_value(field_schema, image.get(name))
    return {
        "name": name,
        "sql_type": sql_type(field_schema),
        "nullable": bool(field_schema.get("optional", True)),
        "unchanged": unchanged,
        "value": value,
    }


def _output(topic: str, key: bytes, record: dict[str, Any]) -> Output:
    return Output(topic, key, encode(_SCHEMA, record), _HEADERS)

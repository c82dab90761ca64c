"""Debezium record keys, written with or without their Connect schema."""

from __future__ import annotations

from typing import Any


def key_payload(key: dict[str, Any]) -> Any:
    """The primary-key columns of a parsed key: ``{"schema", "payload"}`` or the bare object.

    JsonConverter writes ``{"schema": {"type": "struct", ...}, "payload": {...}}`` with
    ``key.converter.schemas.enable=true`` and only the payload without it.
    """
    schema = key.get("schema")
    if len(key) == 2 and "payload" in key and isinstance(schema, dict) and "type" in schema:
        return key["payload"]
    return key

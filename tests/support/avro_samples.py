"""A small Avro record schema, and its changes, for the tests of schema evolution."""

from __future__ import annotations

import copy
from typing import Any

SAMPLE: dict[str, Any] = {
    "type": "record",
    "name": "Sample",
    "namespace": "headwater.test",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "count", "type": "int"},
        {"name": "ratio", "type": "float"},
        {"name": "label", "type": ["null", "string"], "default": None},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["a", "b"]}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    ],
}
#: a record of SAMPLE
SAMPLE_RECORD: dict[str, Any] = {
    "id": "s1", "count": 7, "ratio": 0.5, "label": "x", "kind": "b", "at": 1_764_000_000_000_000
}  # fmt: skip


def changed(schema: dict[str, Any], **fields: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of a record schema with fields replaced in place (by a field, or by None: removed)
    or, for names it does not have, appended."""
    after = copy.deepcopy(schema)
    for name, field in fields.items():
        names = [f["name"] for f in after["fields"]]
        if name not in names:
            after["fields"].append(field)
            continue
        at = names.index(name)
        after["fields"].pop(at)
        if field is not None:
            after["fields"].insert(at, field)
    return after

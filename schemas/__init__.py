"""Avro schemas of the topics Headwater owns: one declaration per record.

The warehouse table of a normalized record is derived from its schema (``sinks/upsert.py``):
a column per field, in order, typed by the field's ``"sql"`` attribute or by its Avro type,
nullable when the type is a union with null. Avro readers ignore the extra attribute.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from fastavro import parse_schema


@cache
def schema_json(name: str) -> Any:
    """The schema stored as ``schemas/<name>.avsc`` (e.g. ``norm/cdc_row``), as written."""
    return json.loads((files("schemas") / f"{name}.avsc").read_text())


@cache
def avro_schema(name: str) -> Any:
    """The parsed Avro schema stored as ``schemas/<name>.avsc``."""
    return parse_schema(schema_json(name))

"""Avro schemas of the topics Headwater owns (the warehouse tables are declared in sinks/)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from fastavro import parse_schema


@cache
def avro_schema(name: str) -> Any:
    """The parsed Avro schema stored as ``schemas/<name>.avsc`` (e.g. ``norm/cdc_row``)."""
    text = (files("schemas") / f"{name}.avsc").read_text()
    return parse_schema(json.loads(text))

"""Exact decimals that the warehouse can hold: the ``numeric(p,s)`` a schema's fields declare.

A normalized record whose amount overflows its column would be refused by the sink and, worse,
be summed into a KPI row the sink then refuses too; the normalizer refuses it instead, naming
the field and the column type, so that every reader downstream gets values it can hold.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from headwater.errors import RejectedRecord
from schemas import schema_json

_NUMERIC = re.compile(r"^numeric\((\d+),\s*(\d+)\)$")


class NumericColumns:
    """The ``numeric(p,s)`` fields of a record schema (``"sql"`` attributes), checked."""

    def __init__(self, record: str) -> None:
        self._limits: dict[str, tuple[Decimal, str]] = {}
        for field in schema_json(record)["fields"]:
            match = _NUMERIC.match(str(field.get("sql", "")))
            if match is not None:
                precision, scale = int(match[1]), int(match[2])
                # PostgreSQL rounds to the scale (half away from zero), then checks the digits
                # left of the point: it refuses anything that rounds to 10^(p-s) or beyond.
                limit = Decimal(10) ** (precision - scale) - Decimal("0.5").scaleb(-scale)
                self._limits[field["name"]] = (limit, match[0])

    def check(self, values: dict[str, Any]) -> None:
        """Raise RejectedRecord for the first of these values its column cannot hold."""
        for name, value in values.items():
            bound = self._limits.get(name)
            if bound is None or value is None:
                continue
            try:
                number = Decimal(value)
            except (InvalidOperation, ValueError, TypeError) as error:
                raise RejectedRecord(f"{name} is not a number: {value!r}") from error
            limit, column = bound
            if not number.is_finite() or abs(number) >= limit:
                raise RejectedRecord(f"{name} {value} does not fit the warehouse's {column}")

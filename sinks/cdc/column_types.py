"""Mirror column types: read from either spelling, and the type that holds two of them.

A change names its columns' types as the processor writes them (``int4``, ``varchar(20)``,
``numeric(12,2)``, see ``stream_processors/cdc/columns.py``); the warehouse catalog names the
mirror's as ``format_type`` does (``integer``, ``character varying(20)``). Both parse into
one :class:`ColumnType`.

When the source changes a column's type, the mirror column becomes :func:`common_type` of
what it is and what the change says: the narrowest type that holds every value of both, so
the mirror only ever widens (a replay of changes from before the source's change, or a
source that narrows a column back, leaves it as it is):

- integers widen along ``int2 < int4 < int8``; with ``numeric`` they become a ``numeric``
  with enough digits on both sides of the point (unconstrained past 1000 digits);
- ``float4 < float8``; a float with ``int2``/``int4`` is ``float8``, with ``int8`` or
  ``numeric`` an unconstrained ``numeric``;
- ``varchar(n)`` widens to the longer length, ``char(n)`` likewise; strings of different
  kinds, or any unbounded one, are ``text``;
- ``json`` with ``jsonb`` is ``jsonb``;
- any other pair (``int4`` then ``text``, ``timestamp`` then ``timestamptz``, ``bool`` then
  ``int2``) has no common type but ``text``: the mirror column becomes ``text`` and keeps
  every value, old and new, as its PostgreSQL text form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

#: PostgreSQL's spellings of the types, as ``format_type`` and the processor write them.
_ALIASES = {
    "smallint": "int2",
    "integer": "int4",
    "int": "int4",
    "bigint": "int8",
    "real": "float4",
    "double precision": "float8",
    "boolean": "bool",
    "character varying": "varchar",
    "character": "bpchar",
    "char": "bpchar",
    "decimal": "numeric",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
    "time with time zone": "timetz",
}
_SPELLING = re.compile(
    r"^(?P<base>[a-z_\"][a-z0-9_ \"]*?)\s*(?:\((?P<modifiers>[0-9, ]+)\))?"
    r"(?P<zone> with(?:out)? time zone)?(?P<array>\[\])?$"
)
#: The words a type name of several has ("double precision", "bit varying"): a type never
#: smuggles a constraint or a default into the DDL it is written in.
_TYPE_WORDS = frozenset(
    {
        "double",
        "precision",
        "character",
        "varying",
        "bit",
        "time",
        "timestamp",
        "with",
        "without",
        "zone",
    }
)
_INTEGER_DIGITS = {"int2": 5, "int4": 10, "int8": 19}
_FLOATS = ("float4", "float8")
_STRINGS = ("varchar", "bpchar", "text")
#: numeric's largest declared precision.
_MAX_PRECISION = 1000


@dataclass(frozen=True)
class ColumnType:
    """A PostgreSQL column type: its base name and modifiers (a length, precision and scale)."""

    base: str
    modifiers: tuple[int, ...] = ()

    @property
    def sql(self) -> str:
        """The type as DDL names it."""
        if self.base == "bpchar" and self.modifiers:
            return f"char({self.modifiers[0]})"
        if self.modifiers:
            return f"{self.base}({','.join(map(str, self.modifiers))})"
        return self.base

    def __str__(self) -> str:
        return self.sql


TEXT = ColumnType("text")


@cache  # a few dozen spellings, read for every column of every change
def parse_type(spelling: str) -> ColumnType:
    """A type as the processor (``int4``) or ``format_type`` (``integer``) spells it."""
    found = _SPELLING.match(spelling.strip().lower())
    if found is None:
        raise ValueError(f"not a column type: {spelling!r}")
    base = found["base"].strip() + (found["zone"] or "")
    if " " in base and not set(base.split()) <= _TYPE_WORDS:
        raise ValueError(f"not a column type: {spelling!r}")
    if found["array"]:
        return ColumnType(base + "[]")
    base = _ALIASES.get(base, base)
    modifiers = tuple(int(m) for m in (found["modifiers"] or "").split(",") if m.strip())
    if base in ("timestamp", "timestamptz", "time", "timetz"):
        modifiers = ()  # the mirror keeps microseconds whatever the source's precision
    if base == "numeric" and len(modifiers) == 1:
        modifiers = (modifiers[0], 0)  # numeric(p) is numeric(p,0)
    return ColumnType(base, modifiers)


def common_type(current: ColumnType, incoming: ColumnType) -> ColumnType:
    """The narrowest type holding every value of both (``text`` when nothing narrower does)."""
    if current == incoming:
        return current
    kinds = {current.base, incoming.base}
    if kinds <= {*_INTEGER_DIGITS, "numeric"}:
        return _exact_number(current, incoming)
    if kinds <= {*_INTEGER_DIGITS, *_FLOATS}:
        if kinds & {"int8"}:
            return ColumnType("numeric")
        return ColumnType("float8")
    if kinds <= {"numeric", *_FLOATS}:
        return ColumnType("numeric")
    if kinds <= set(_STRINGS):
        return _string(current, incoming)
    if kinds == {"json", "jsonb"}:
        return ColumnType("jsonb")
    return TEXT


def holds(current: ColumnType, incoming: ColumnType) -> bool:
    """Whether a column of type ``current`` already holds every value of ``incoming``."""
    return common_type(current, incoming) == current


def _exact_number(current: ColumnType, incoming: ColumnType) -> ColumnType:
    if current.base in _INTEGER_DIGITS and incoming.base in _INTEGER_DIGITS:
        return max(current, incoming, key=lambda t: _INTEGER_DIGITS[t.base])
    for integer, number in ((current, incoming), (incoming, current)):
        if (
            integer.base in _INTEGER_DIGITS
            and number.modifiers[1:] == (0,)
            and number.modifiers[0] < _INTEGER_DIGITS[integer.base]
        ):
            return integer  # int4 holds numeric(9,0): 999,999,999 < 2,147,483,647
    shapes = [_digits_and_scale(t) for t in (current, incoming)]
    if None in shapes:
        return ColumnType("numeric")
    digits = max(shape[0] for shape in shapes if shape is not None)
    scale = max(shape[1] for shape in shapes if shape is not None)
    if digits + scale > _MAX_PRECISION:
        return ColumnType("numeric")
    return ColumnType("numeric", (digits + scale, scale))


def _digits_and_scale(number: ColumnType) -> tuple[int, int] | None:
    """Digits before the point and after it; None for an unconstrained numeric."""
    if number.base in _INTEGER_DIGITS:
        return _INTEGER_DIGITS[number.base], 0
    if len(number.modifiers) == 2:
        precision, scale = number.modifiers
        return precision - scale, scale
    return None


def _string(current: ColumnType, incoming: ColumnType) -> ColumnType:
    same = current.base == incoming.base != "text"
    if same and current.modifiers and incoming.modifiers:
        return ColumnType(current.base, (max(current.modifiers[0], incoming.modifiers[0]),))
    return TEXT

"""Reading ``CdcRow`` records (``norm.cdc.*``): the processor's KPI stage and the CDC sink."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from headwater.avro import Headers, record_reader

_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1).toordinal()
#: The column types a CdcRow may name (those the CDC normalizer derives from Debezium's), with
#: PostgreSQL's bounds on their modifiers: a mirror's DDL is made of them, so nothing else
#: may pass (a type PostgreSQL refuses would fail the DDL of every change of its batch).
_SQL_TYPE = re.compile(
    r"int[248]|text|bool|date|timetz|time|timestamptz|timestamp|jsonb|json|uuid|bytea|float[48]"
    r"|numeric|numeric\((?P<precision>\d{1,4}),(?P<scale>\d{1,4})\)"
    r"|(?:var)?char\((?P<length>\d{1,8})\)",
    re.ASCII,  # \d is 0-9 only: fullwidth or Arabic-Indic digits are no type PostgreSQL reads
)
_MAX_PRECISION = 1000  # numeric(p,s): 1 <= p <= 1000, 0 <= s <= p
_MAX_LENGTH = 10_485_760  # varchar(n), char(n): 1 <= n
#: PostgreSQL keeps the first 63 bytes of a longer name (NAMEDATALEN - 1): two long names
#: would be one table or column, so a name the mirror would have longer is refused.
MAX_IDENTIFIER_BYTES = 63
#: The prefix of a mirror's name (``<schema>.src_<table>``, sinks/cdc/tables.py).
MIRROR_PREFIX = "src_"


@dataclass
class Change:
    """One decoded change of one row (or a truncate of its table)."""

    schema: str
    table: str
    op: str
    lsn: int
    commit_time_us: int
    primary_key: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)
    unchanged: set[str] = field(default_factory=set)
    types: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[Any, ...]:
        """The primary-key values, in key order."""
        return tuple(self.values[name] for name in self.primary_key)


def decode_change(value: bytes, headers: Headers = ()) -> Change:
    """A ``CdcRow`` as a Change with Python values ready for COPY, read with the writer schema
    its headers name (none: the first recorded version, ``headwater/avro.py``)."""
    record = record_reader("norm/cdc_row")(value, headers)
    change = Change(
        schema=record["source_schema"],
        table=record["source_table"],
        op=record["op"],
        lsn=record["lsn"],
        commit_time_us=_as_micros(record["commit_time"]),
        primary_key=tuple(record["primary_key"]),
    )
    _identifier(change.schema, "schema")
    _identifier(change.table, "table", MIRROR_PREFIX)
    for column in record["columns"]:
        name, sql_type = column["name"], column["sql_type"]
        if name in change.types:
            raise ValueError(f"column {name!r} appears twice")
        change.types[_identifier(name, "column")] = column_type(name, sql_type)
        if column["unchanged"]:
            change.unchanged.add(name)
        else:
            change.values[name] = python_value(sql_type, column["value"])
    missing = [name for name in change.primary_key if name not in change.types]
    if missing and change.op != "TRUNCATE":
        raise ValueError(f"primary key column(s) {missing} not among the columns")
    return change


@cache
def column_type(name: str, sql_type: str) -> str:
    """The column's SQL type; ValueError when it is not one a CdcRow may name."""
    match = _SQL_TYPE.fullmatch(sql_type)
    if match is None or not _within_bounds(match):
        raise ValueError(f"column {name!r}: {sql_type!r} is not a column type of a CdcRow")
    return sql_type


def _within_bounds(match: re.Match[str]) -> bool:
    if match["precision"] is not None:
        precision, scale = int(match["precision"]), int(match["scale"])
        return 1 <= precision <= _MAX_PRECISION and 0 <= scale <= precision
    if match["length"] is not None:
        return 1 <= int(match["length"]) <= _MAX_LENGTH
    return True


def _identifier(name: str, what: str, prefix: str = "") -> str:
    """A schema, table or column name a mirror's DDL can hold; ValueError if not.

    Any other character is fine: the DDL quotes every name (``psycopg.sql.Identifier``)."""
    if not name or "\x00" in name:
        raise ValueError(f"{what} name {name!r} is empty or holds a NUL byte")
    if len((prefix + name).encode()) > MAX_IDENTIFIER_BYTES:
        raise ValueError(
            f"{what} name {name[:40]!r}... makes a name longer than PostgreSQL's "
            f"{MAX_IDENTIFIER_BYTES} bytes ({prefix}<name>), which it would cut short"
        )
    return name


def _as_micros(value: Any) -> int:
    # fastavro turns timestamp-micros into an aware datetime.
    if isinstance(value, datetime):
        delta = value - _EPOCH_UTC
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return int(value)


def python_value(sql_type: str, value: Any) -> Any:
    """The value psycopg should COPY for a column of this type."""
    if value is None:
        return None
    if sql_type == "date":
        return date.fromordinal(_EPOCH_DAY + int(value))
    if sql_type == "timestamp":
        return _EPOCH + timedelta(microseconds=int(value))
    if sql_type == "timestamptz":
        return _EPOCH_UTC + timedelta(microseconds=int(value))
    if sql_type == "time":
        return (_EPOCH + timedelta(microseconds=int(value))).time()
    return value  # numerics, uuid and json arrive as their exact text; PostgreSQL parses them

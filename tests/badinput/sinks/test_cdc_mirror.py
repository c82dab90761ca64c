"""Changes the CDC mirror cannot apply: records that do not decode, values the mirror's columns
refuse, columns of types PostgreSQL has no such value for. Each goes to ``dlq.sink`` with its
reason; every good change around it is applied (inserts, an update, a delete), to the cent.

The mirror is created by the first batch, which also holds the refused records. Changes
that name what a mirror's DDL cannot be made of (a type PostgreSQL does not have, or SQL, a
column twice, a key that is no column) are refused when read, before any DDL: one of them
would otherwise fail the DDL of its whole batch, again on every start.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from headwater.avro import SCHEMA_HEADER, encode, schema_id
from headwater.settings import Settings
from schemas import avro_schema
from sinks.cdc.mirror import MirrorWriter
from stream_processors.ads.normalize import to_output as ad_output
from tests.support.bad_avro import NOT_NUMBERS, UNDECODABLE, undecodable
from tests.support.bad_inputs import TEN_MB, Bad, Batch, catalogue_tests, interleave
from tests.support.kafka_io import Record
from tests.support.norm_records import AFTER_YEAR_9999_US, BEFORE_YEAR_1_US, ad_record, order_change
from tests.support.sink_run import refused_by, sink_run
from tests.support.stage_run import DeadLetter

RECORD = "norm/cdc_row"
SCHEMA = avro_schema(RECORD)
HEADERS = ((SCHEMA_HEADER, schema_id(SCHEMA)),)
GOOD = 60
Change = dict[str, Any]


def key(change: Change) -> bytes:
    return f'{{"id":{change["columns"][0]["value"]}}}'.encode()


def with_column(change: Change, name: str, value: Any, sql_type: str | None = None) -> Change:
    """The change with a column's value set (a new column when the change has none)."""
    columns = [dict(c) for c in change["columns"]]
    for column in columns:
        if column["name"] == name:
            column["value"] = value
            column["sql_type"] = sql_type or column["sql_type"]
            break
    else:
        columns.append(
            {"name": name, "sql_type": sql_type or "text", "nullable": True,
             "unchanged": False, "value": value}
        )  # fmt: skip
    return change | {"columns": columns}


class Catalogue:
    """Bad changes of the mirror's schema, each with an order id of its own."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self._ids = itertools.count(10_000)
        self.cases: list[Bad] = []

    def change(self, **values: Any) -> Change:
        return order_change(next(self._ids), schema=self.schema, **values)

    def add(self, case: str, change: Change, reason: str | tuple[str, ...]) -> None:
        value = encode(SCHEMA, change)
        self.cases.append(Bad(case, value, reason, key(change), headers=HEADERS))

    def column(
        self,
        case: str,
        name: str,
        value: Any,
        reason: str | tuple[str, ...],
        sql: str | None = None,
    ) -> None:
        self.add(case, with_column(self.change(), name, value, sql), reason)


def bad_changes(schema: str) -> list[Bad]:
    other = ad_output(ad_record(0))
    generic = undecodable(RECORD, order_change(0, schema), other.value or b"", tuple(other.headers))
    catalogue = Catalogue(schema)
    column: Callable[..., None] = catalogue.column
    for name in ("status", "campaign_id", "currency"):
        column(f"{name}: a NUL byte", name, "nul\x00byte", "NUL")
        column(f"{name}: only a NUL byte", name, "\x00", "NUL")
    column("amount: overflows numeric(12,2)", "amount", "1e10", "overflow")
    column("amount: rounds to overflow", "amount", "9999999999.995", "overflow")
    for text in NOT_NUMBERS:
        column(f"amount: {text!r}", "amount", text, ("numeric", "NUL", "infinite"))
    column("created_at: before year 1", "created_at", BEFORE_YEAR_1_US, UNDECODABLE)
    column("created_at: after 9999", "created_at", AFTER_YEAR_9999_US, UNDECODABLE)
    column("created_at: not a number", "created_at", "soon", UNDECODABLE)
    column("id: not an integer", "id", "abc", "bigint")
    column("id: a fraction", "id", 1.5, "bigint")
    column("id: null", "id", None, "null value")
    column("a varchar(3) too long", "code", "toolong", "too long", "varchar(3)")
    column("jsonb not JSON", "meta", "{", "json", "jsonb")
    column("uuid not a UUID", "ref", "not-a-uuid", "uuid", "uuid")
    column("int2 out of range", "qty", 40_000, "out of range", "int2")
    column("bool not a boolean", "flag", "maybe", "boolean", "bool")
    column("date after 9999", "day", 3_000_000, UNDECODABLE, "date")
    column("numeric of precision 5000", "big", "1", "column type", "numeric(5000,2)")
    column("varchar of length 0", "empty", "", "column type", "varchar(0)")
    column("a type PostgreSQL does not have", "odd", "1", "type", "no_such_type")
    injection = f'int; CREATE TABLE "{schema}".injected (x int)'
    column("a type that is SQL", "evil", "1", "type", injection)
    change = catalogue.change()
    twice = change | {"columns": [*change["columns"], change["columns"][3]]}
    catalogue.add("a column named twice", twice, "appears twice")
    catalogue.add(
        "a primary key that is no column",
        catalogue.change() | {"primary_key": ["nope"]},
        "primary key",
    )
    column("an empty column name", "", "x", "column name")
    column("a NUL byte in a column name", "no\x00te", "x", "column name")
    column("text of 10 MB with a NUL byte", "notes", "n" * TEN_MB + "\x00", "NUL")
    catalogue.cases[-1] = dataclasses.replace(catalogue.cases[-1], too_large=True)
    return generic + catalogue.cases


def good_records(schema: str) -> list[Record]:
    changes = [order_change(n, schema=schema) for n in range(GOOD)]
    # a later change of order 5 (another amount) and the delete of order 6
    changes.append(with_column(order_change(5, schema=schema, lsn=20_000), "amount", "55.55"))
    changes.append(order_change(6, schema=schema, lsn=20_000) | {"op": "DELETE"})
    return [(key(c), encode(SCHEMA, c), HEADERS) for c in changes]


WAREHOUSE_SCHEMA = f"badinput_{uuid.uuid4().hex[:8]}"  # the source schema the changes name
BAD = bad_changes(WAREHOUSE_SCHEMA)
BATCH: Batch = interleave(good_records(WAREHOUSE_SCHEMA), BAD)


@pytest.fixture(scope="module")
def letters(settings: Settings, schema: str) -> Iterator[dict[int, DeadLetter]]:
    with sink_run(settings, "cdc") as run:
        yield run.run(MirrorWriter(settings), BATCH.records)


(
    test_the_catalogue_holds_at_least_40_bad_inputs,
    test_a_bad_input_is_a_dead_letter_with_its_reason,
    test_no_good_record_is_a_dead_letter,
) = catalogue_tests(BAD, BATCH, refused_by("cdc"))


def test_every_good_change_is_applied_to_the_cent(
    letters: dict[int, DeadLetter], warehouse: psycopg.Connection, schema: str
) -> None:
    rows = warehouse.execute(
        f'SELECT id, amount, status, currency FROM "{schema}".src_orders ORDER BY id'
    ).fetchall()
    assert rows == [
        (n, Decimal("55.55") if n == 5 else Decimal(f"{n}.50"), "paid", "GBP")
        for n in range(GOOD)
        if n != 6
    ]
    columns = warehouse.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
        "AND table_name = 'src_orders'",
        (schema,),
    ).fetchall()
    good = {"id", "campaign_id", "created_at", "status", "amount", "currency", "_lsn", "_synced_at"}
    extra = {c for (c,) in columns} - good
    assert good <= {c for (c,) in columns}
    # A column only refused changes brought was added before their data was refused (the DDL
    # runs outside the batch): it may stay, but holds none of their values.
    for name in extra:
        held = warehouse.execute(
            f'SELECT count(*) FROM "{schema}".src_orders WHERE "{name}" IS NOT NULL'
        ).fetchone()
        assert held == (0,), name
    assert warehouse.execute("SELECT to_regclass(%s)", (f'"{schema}".injected',)).fetchone() == (
        None,
    )

"""SQL injection through ``norm.cdc.*``: whoever can produce a CdcRow names the schemas,
tables, columns and column types of the mirror's DDL. Hostile types (statements, comments,
quotes, dollar quoting, Unicode look-alikes, NUL bytes) and names that PostgreSQL would cut
short or cannot hold are refused to ``dlq.sink`` with their reason; hostile names it can
hold land as the quoted names they are. Afterwards the catalog shows that nothing ran: a
canary table keeps its rows, and no role, schema or table was made beyond the quoted
mirrors the good changes asked for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from headwater.avro import SCHEMA_HEADER, encode, schema_id
from headwater.settings import Settings
from schemas import avro_schema
from sinks.cdc.mirror import MirrorWriter
from sinks.cdc.tables import CONTROL_SCHEMA, MirrorTable
from tests.support.bad_inputs import Bad, Batch, catalogue_tests, interleave
from tests.support.kafka_io import Record
from tests.support.norm_records import order_change
from tests.support.sink_run import refused_by, sink_run
from tests.support.stage_run import DeadLetter

SCHEMA = avro_schema("norm/cdc_row")
HEADERS = ((SCHEMA_HEADER, schema_id(SCHEMA)),)
TAG = f"inject_{uuid.uuid4().hex[:8]}"
WAREHOUSE_SCHEMA = TAG  # the source schema the good changes name (the conftest drops it)
CANARY = sql.Identifier(f"{TAG}_canary", "kpis")
CANARY_TEXT = f'"{TAG}_canary".kpis'
ROLE = f"{TAG}_evil"
PAYLOADS = (
    f"DROP TABLE {CANARY_TEXT}",
    f"DELETE FROM {CANARY_TEXT}",
    f'CREATE ROLE "{ROLE}" SUPERUSER',
    f'CREATE TABLE "{TAG}".injected (x int)',
)
GOOD = 20
Change = dict[str, Any]


def hostile_types() -> dict[str, str]:
    """Column types that are SQL, or look like a type PostgreSQL would read: by case id."""
    drop, delete, role, table = PAYLOADS
    return {
        "statement after text": f"text; {drop}; --",
        "closing parenthesis": f"int) ; {delete}; --",
        "after numeric(10,2)": f"numeric(10,2)); {role}; --",
        "a statement only": table,
        "newline then a statement": f"text\n{drop}",
        "a single quote": f"text'; {drop}; --",
        "a default": "text DEFAULT 'x'",
        "a double-quoted type": '"text"',
        "a quoted name then SQL": f'"int4"; {role}; --',
        "a block comment": f"text /* */; {drop}",
        "an open block comment": "text /*",
        "a line comment": "text -- comment",
        "dollar quoting": f"text$$; {drop}; $$",
        "a tagged dollar quote": "$q$text$q$",
        "a check constraint": "text CHECK (false)",
        "a generated column": "int4 GENERATED ALWAYS AS (1) STORED",
        "not null": "int4 NOT NULL",
        "a collation": 'text COLLATE "C"',
        "a schema-qualified type": "pg_catalog.text",
        "an array then SQL": f"text[]; {drop}",
        "a cast": "text::regclass",
        "upper case": "TEXT",
        "a space before": " text",
        "a tab after": "text\t",
        "Cyrillic i in int4": "\u0456nt4",
        "fullwidth text": "\uff54\uff45\uff58\uff54",
        "fullwidth digits in numeric": "numeric(\uff11\uff10,2)",
        "Arabic-Indic digits in varchar": "varchar(\u0661\u0660)",
        "zero-width space": "text\u200b",
        "Greek question mark as a semicolon": f"text\u037e {drop}",
        "fullwidth semicolon": f"text\uff1b {drop}",
        "a NUL byte then SQL": f"text\x00; {drop}",
        "only a NUL byte": "\x00",
        "empty": "",
        "a subquery modifier": "varchar((SELECT 1))",
        "a function in numeric": "numeric(pg_sleep(10),2)",
    }


def hostile_refused_names() -> dict[str, tuple[str, str, str]]:
    """Names no mirror can have: case id -> (which name, the name, the reason)."""
    return {
        "empty column name": ("column", "", "column name"),
        "NUL in a column name": ("column", f'x\x00"; {PAYLOADS[0]}; --', "column name"),
        "a column name of 64 bytes": ("column", "c" * 64, "63 bytes"),
        "a column name of 32 two-byte letters": ("column", "\u00e9" * 32, "63 bytes"),
        "empty table name": ("table", "", "table name"),
        "NUL in a table name": ("table", "orders\x00", "table name"),
        "a table name making src_ + 60 bytes": ("table", "t" * 60, "63 bytes"),
        "empty schema name": ("schema", "", "schema name"),
        "a schema name of 64 bytes": ("schema", TAG + "s" * (64 - len(TAG)), "63 bytes"),
    }


#: Hostile column names PostgreSQL can hold: they land, quoted, as the names they are.
HELD_COLUMNS = (
    f'a"; {PAYLOADS[0]}; --',
    f"x'); {PAYLOADS[1]}; --",
    "$$",
    "-- not a comment",
    "/* nor this */",
    '"',
    "\ufb01eld",  # the ligature fi
    "k" * 63,  # PostgreSQL's longest name
)
#: A hostile table name and a hostile schema name PostgreSQL can hold (mirrors of their own).
HELD_TABLE = f'orders"; {PAYLOADS[0]}; --'
HELD_SCHEMA = f'{TAG}";DROP TABLE {CANARY_TEXT};--'


def encoded(change: Change) -> tuple[bytes, bytes]:
    return f'{{"id":{change["columns"][0]["value"]}}}'.encode(), encode(SCHEMA, change)


def with_extra_column(change: Change, name: str, sql_type: str, value: Any) -> Change:
    column = {"name": name, "sql_type": sql_type, "nullable": True, "unchanged": False}
    return change | {"columns": [*change["columns"], column | {"value": value}]}


def bad_changes() -> list[Bad]:
    cases: list[Bad] = []
    ids = iter(range(10_000, 20_000))
    for case, sql_type in hostile_types().items():
        change = with_extra_column(order_change(next(ids), TAG), "evil", sql_type, "1")
        key, value = encoded(change)
        cases.append(Bad(f"type: {case}", value, "column type", key, headers=HEADERS))
    for case, (what, name, reason) in hostile_refused_names().items():
        change = order_change(next(ids), TAG)
        if what == "column":
            change = with_extra_column(change, name, "text", "x")
        else:
            change = change | {f"source_{what}": name}
        key, value = encoded(change)
        cases.append(Bad(case, value, reason, key, headers=HEADERS))
    return cases


def good_changes() -> list[Change]:
    """Orders into the test's mirror, then changes with hostile names PostgreSQL can hold."""
    changes = [order_change(n, TAG) for n in range(GOOD)]
    for n, name in enumerate(HELD_COLUMNS, start=GOOD):
        changes.append(with_extra_column(order_change(n, TAG), name, "text", f"held {n}"))
    changes.append(order_change(1, TAG) | {"source_table": HELD_TABLE})
    changes.append(order_change(2, HELD_SCHEMA))
    return changes


def records(changes: list[Change]) -> list[Record]:
    return [(*encoded(change), HEADERS) for change in changes]


BAD = bad_changes()
GOOD_CHANGES = good_changes()
BATCH: Batch = interleave(records(GOOD_CHANGES), BAD)
#: The mirrors the good changes make: (schema, table).
MIRRORS = ((TAG, "orders"), (TAG, HELD_TABLE), (HELD_SCHEMA, "orders"))


def tagged(warehouse: psycopg.Connection) -> dict[str, set[tuple[str, ...]]]:
    """Every role, schema and table whose name holds the test's tag (none of those, when
    nothing injected ran, but the canary and the quoted mirrors)."""
    like = f"%{TAG}%"
    roles = warehouse.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (like,))
    schemas = warehouse.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (like,))
    tables = warehouse.execute(
        "SELECT n.nspname, c.relname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        " AND (n.nspname LIKE %s OR c.relname LIKE %s)",
        (like, like),
    )
    return {
        "roles": {tuple(row) for row in roles.fetchall()},
        "schemas": {tuple(row) for row in schemas.fetchall()},
        "tables": {tuple(row) for row in tables.fetchall()},
    }


def deleted_keys(schema: str, table: str) -> tuple[str, str]:
    """The mirror's deleted-keys table, as (schema, name)."""
    return CONTROL_SCHEMA, MirrorTable(schema, table, ()).deleted_table


@pytest.fixture(scope="module")
def canary(warehouse: psycopg.Connection) -> Iterator[None]:
    """A table the hostile types try to drop and empty; it is dropped afterwards, with every
    schema, mirror and bookkeeping the run made."""
    warehouse.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(f"{TAG}_canary")))
    warehouse.execute(sql.SQL("CREATE TABLE {} (n int)").format(CANARY))
    warehouse.execute(sql.SQL("INSERT INTO {} VALUES (1), (2), (3)").format(CANARY))
    yield
    for schema, table in MIRRORS:
        warehouse.execute(
            sql.SQL("DROP TABLE IF EXISTS {}").format(MirrorTable(schema, table, ()).deleted)
        )
        if warehouse.execute("SELECT to_regclass('headwater.cdc_truncations')").fetchone() != (
            None,
        ):
            warehouse.execute(
                "DELETE FROM headwater.cdc_truncations WHERE mirror = %s",
                (MirrorTable(schema, table, ()).name,),
            )
    for schema in (f"{TAG}_canary", HELD_SCHEMA):
        warehouse.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


@pytest.fixture(scope="module")
def letters(settings: Settings, schema: str, canary: None) -> Iterator[dict[int, DeadLetter]]:
    with sink_run(settings, "cdc") as run:
        yield run.run(MirrorWriter(settings), BATCH.records)


(
    test_the_catalogue_holds_at_least_40_bad_inputs,
    test_a_bad_input_is_a_dead_letter_with_its_reason,
    test_no_good_record_is_a_dead_letter,
) = catalogue_tests(BAD, BATCH, refused_by("cdc"))


def test_nothing_injected_ran(
    letters: dict[int, DeadLetter], warehouse: psycopg.Connection
) -> None:
    assert warehouse.execute(sql.SQL("SELECT count(*) FROM {}").format(CANARY)).fetchone() == (3,)
    found = tagged(warehouse)
    assert found["roles"] == set()
    assert warehouse.execute(
        "SELECT count(*) FROM pg_roles WHERE rolname = %s", (ROLE,)
    ).fetchone() == (0,)
    assert found["schemas"] == {(TAG,), (f"{TAG}_canary",), (HELD_SCHEMA,)}
    mirrors = {(schema, f"src_{table}") for schema, table in MIRRORS}
    deleted = {deleted_keys(schema, table) for schema, table in MIRRORS}
    canary = {(f"{TAG}_canary", "kpis")}
    # a deleted-keys table whose name is a digest does not hold the tag
    assert found["tables"] == mirrors | canary | {d for d in deleted if TAG in d[1]}
    for schema, name in deleted:
        assert warehouse.execute(
            "SELECT to_regclass(%s)", (sql.Identifier(schema, name).as_string(warehouse),)
        ).fetchone() != (None,)


def test_the_mirror_has_the_good_columns_only(
    letters: dict[int, DeadLetter], warehouse: psycopg.Connection
) -> None:
    """The refused changes' columns were never added (they were refused before any DDL)."""
    columns = warehouse.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
        (sql.Identifier(TAG, "src_orders").as_string(warehouse),),
    ).fetchall()
    base = {
        "id": "bigint",
        "campaign_id": "text",
        "created_at": "timestamp with time zone",
        "status": "text",
        "amount": "numeric(12,2)",
        "currency": "text",
        "_lsn": "bigint",
        "_synced_at": "timestamp with time zone",
    }
    assert dict(columns) == base | dict.fromkeys(HELD_COLUMNS, "text")


def test_every_good_change_lands_under_its_quoted_name(
    letters: dict[int, DeadLetter], warehouse: psycopg.Connection
) -> None:
    orders = sql.Identifier(TAG, "src_orders")
    ids = warehouse.execute(sql.SQL("SELECT id FROM {} ORDER BY id").format(orders)).fetchall()
    assert [n for (n,) in ids] == list(range(GOOD + len(HELD_COLUMNS)))
    for n, name in enumerate(HELD_COLUMNS, start=GOOD):
        held = warehouse.execute(
            sql.SQL("SELECT id FROM {} WHERE {} = %s").format(orders, sql.Identifier(name)),
            (f"held {n}",),
        ).fetchall()
        assert held == [(n,)], name
    for schema, table, n in ((TAG, HELD_TABLE, 1), (HELD_SCHEMA, "orders", 2)):
        mirror = MirrorTable(schema, table, ()).identifier
        rows = warehouse.execute(sql.SQL("SELECT id, status FROM {}").format(mirror)).fetchall()
        assert rows == [(n, "paid")]

"""`headwater sandbox schema` and `headwater sandbox workload` against the real database.

(These test ``control/cli/sandbox.py``.)
"""

from __future__ import annotations

from typing import Any

import psycopg
from click.testing import CliRunner
from psycopg import sql

from control.cli.main import cli


def _count(database: psycopg.Connection[Any], schema: str, table: str) -> int:
    found = database.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
    ).fetchone()
    assert found is not None
    return int(found[0])


def test_schema_then_workload(schema: str, database: psycopg.Connection[Any]) -> None:
    runner = CliRunner()
    args = ["sandbox", "schema", "--schema", schema, "--customers", "30", "--orders", "120"]
    created = runner.invoke(cli, args)
    assert created.exit_code == 0, created.output
    assert f"schema {schema}: tables customers and orders ready; seeded with 30 customers" in (
        created.output
    )
    again = runner.invoke(cli, args)
    assert "already holds 30 customers and 120 orders" in again.output
    assert (_count(database, schema, "customers"), _count(database, schema, "orders")) == (30, 120)

    ran = runner.invoke(
        cli, ["sandbox", "workload", "--schema", schema, "--rate", "0", "--changes", "300"]
    )
    assert ran.exit_code == 0, ran.output
    lines = ran.output.splitlines()
    assert lines[0].startswith("workload: ")
    assert "changes/s (target as fast as possible)" in lines[0]
    header, customers, orders, total = lines[1:5]
    assert header.split() == ["table", "inserts", "updates", "deletes", "re-inserts"]
    for line, table in ((customers, "customers"), (orders, "orders")):
        name, inserts, _, deletes, _ = line.split()
        seeded = {"customers": 30, "orders": 120}[table]
        assert name == table
        assert _count(database, schema, table) == seeded + int(inserts) - int(deletes)
    name, inserts, updates, deletes, _ = total.split()
    assert name == "total"
    assert int(inserts) + int(updates) + int(deletes) >= 300

"""Transactions on the real PostgreSQL: a failure around COMMIT neither loses nor repeats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from headwater.errors import Terminal
from sandbox.source_db import prepare_source, rows
from sandbox.source_db.errors import ChangeRejected
from sandbox.source_db.values import seeded_random
from sandbox.workload.changes import Change, Delete, Insert
from sandbox.workload.executor import SourceSession
from sandbox.workload.stats import TransactionResult

NOW = datetime(2025, 6, 1, tzinfo=UTC)


class FailsAfterCommit(SourceSession):
    """Loses the connection right after the first COMMIT went through."""

    failed = False

    def _execute(self, changes: Any, attempt: Any) -> TransactionResult:
        result = super()._execute(changes, attempt)
        if not self.failed:
            self.failed = True
            self.close()
            raise psycopg.OperationalError("connection lost after COMMIT (simulated)")
        return result


class FailsBeforeCommit(SourceSession):
    """Loses the connection in the middle of the first transaction."""

    failed = False

    def _apply(self, connection: Any, change: Change, result: TransactionResult) -> None:
        super()._apply(connection, change, result)
        if not self.failed:
            self.failed = True
            connection.close()
            raise psycopg.OperationalError("connection lost mid-transaction (simulated)")


def _customers(database: psycopg.Connection[Any], schema: str, *ids: int) -> int:
    found = database.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE id = ANY(%s)").format(
            sql.Identifier(schema, "customers")
        ),
        (list(ids),),
    ).fetchone()
    assert found is not None
    return int(found[0])


def _new_customers(*ids: int) -> list[Change]:
    rng = seeded_random(1)
    return [Insert("customers", rows.customer(rng, customer_id, NOW)) for customer_id in ids]


@pytest.fixture
def seeded(source_dsn: str, schema: str) -> str:
    with psycopg.connect(source_dsn) as connection:
        prepare_source(connection, schema, customers=5, orders=20, seed=1)
    return schema


def test_a_commit_whose_answer_was_lost_is_not_repeated(
    source_dsn: str, seeded: str, database: psycopg.Connection[Any]
) -> None:
    with FailsAfterCommit(source_dsn, seeded, backoff_s=0.01) as session:
        result = session.run(_new_customers(1001, 1002))
    assert session.failed
    assert session.retries == 0  # it committed: nothing to retry
    assert result.tables["customers"].inserts == 2
    assert _customers(database, seeded, 1001, 1002) == 2


def test_a_transaction_cut_before_commit_is_retried_once(
    source_dsn: str, seeded: str, database: psycopg.Connection[Any]
) -> None:
    with FailsBeforeCommit(source_dsn, seeded, backoff_s=0.01) as session:
        result = session.run(_new_customers(2001, 2002, 2003))
    assert session.retries == 1
    assert result.tables["customers"].inserts == 3
    assert _customers(database, seeded, 2001, 2002, 2003) == 3


def test_a_cascading_delete_counts_the_orders_it_takes(
    source_dsn: str, seeded: str, database: psycopg.Connection[Any]
) -> None:
    found = database.execute(
        sql.SQL(
            "SELECT customer_id, count(*) FROM {} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        ).format(sql.Identifier(seeded, "orders"))
    ).fetchone()
    assert found is not None
    customer_id, orders = found
    with SourceSession(source_dsn, seeded) as session:
        result = session.run([Delete("customers", customer_id)])
    assert result.tables["customers"].deletes == 1
    assert result.tables["orders"].deletes == orders == result.cascaded_deletes
    assert result.changes == 1 + orders


def test_a_change_the_database_refuses_is_terminal_and_named(
    source_dsn: str, seeded: str, database: psycopg.Connection[Any]
) -> None:
    with SourceSession(source_dsn, seeded) as session, pytest.raises(ChangeRejected) as refused:
        session.run([*_new_customers(3001), *_new_customers(1)])  # customer 1 was seeded
    assert isinstance(refused.value, Terminal)
    assert "insert_customer (customers id=1)" in str(refused.value)
    assert "UniqueViolation" in str(refused.value)
    assert _customers(database, seeded, 3001) == 0  # the whole transaction rolled back

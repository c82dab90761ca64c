"""Commits planned transactions on the source database, retrying transient failures.

A transaction that fails on a lost connection, a deadlock or a serialization failure is
retried, a bounded number of times with exponential backoff and jitter. When the
failure leaves its outcome unknown (the connection broke around COMMIT), the
transaction's id, taken at its start, tells from a new connection whether it committed
(``pg_xact_status``), so a change is neither lost nor applied twice.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import psycopg
from psycopg import sql

from headwater.postgres import verified
from sandbox.source_db.errors import ChangeRejected, SchemaMissing, SourceUnavailable
from sandbox.source_db.schema import Table, adapt, check_schema_name, qualified, tables_exist
from sandbox.source_db.values import TOAST_MIN_BYTES
from sandbox.workload.changes import Change, Delete, Insert, Update, describe
from sandbox.workload.keyspace import KeySpace
from sandbox.workload.stats import TransactionResult

APPLICATION_NAME: Final = "headwater-workload"


@dataclass
class _Attempt:
    xid: str | None = None
    result: TransactionResult = field(default_factory=TransactionResult)


class SourceSession:
    """One connection to the source database that runs the workload's transactions."""

    def __init__(
        self, dsn: str, schema: str, max_attempts: int = 8, backoff_s: float = 0.2
    ) -> None:
        self._dsn = dsn
        self._schema = check_schema_name(schema)
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._jitter = random.Random()  # noqa: S311  # backoff jitter, not a secret
        self._connection: psycopg.Connection[Any] | None = None
        self.retries = 0

    def __enter__(self) -> SourceSession:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def load_keyspace(self) -> KeySpace:
        """Read the keys and order states the planner starts from."""
        last_error: psycopg.OperationalError | None = None
        for attempt_number in range(1, self._max_attempts + 1):
            if attempt_number > 1:
                self._back_off(attempt_number)
            try:
                return self._read_keyspace(self._connect())
            except psycopg.OperationalError as error:
                last_error = error
                self._abandon()
        raise SourceUnavailable(f"source database: {last_error}") from last_error

    def _read_keyspace(self, connection: psycopg.Connection[Any]) -> KeySpace:
        if not tables_exist(connection, self._schema):
            raise SchemaMissing(self._schema)
        keys = KeySpace()
        customers = sql.SQL("SELECT id FROM {} ORDER BY id").format(
            qualified(self._schema, "customers")
        )
        for (customer_id,) in connection.execute(customers):
            keys.add_customer(customer_id)
        orders = sql.SQL(
            "SELECT id, customer_id, status, coalesce(octet_length(notes), 0) >= %s "
            "FROM {} ORDER BY id"
        ).format(qualified(self._schema, "orders"))
        for order_id, customer_id, status, toasted in connection.execute(
            orders, (TOAST_MIN_BYTES,)
        ):
            keys.add_order(order_id, customer_id, status, toasted)
        connection.rollback()
        return keys

    def run(self, changes: Sequence[Change]) -> TransactionResult:
        """Commit ``changes`` as one transaction and count the rows they changed."""
        last_error: psycopg.OperationalError | None = None
        for attempt_number in range(1, self._max_attempts + 1):
            if attempt_number > 1:
                self.retries += 1
                self._back_off(attempt_number)
            attempt = _Attempt()
            try:
                return self._execute(changes, attempt)
            except psycopg.OperationalError as error:
                last_error = error
                self._abandon()
                if attempt.xid is not None and self._committed(attempt.xid):
                    return attempt.result
        raise SourceUnavailable(
            f"a transaction of {len(changes)} changes failed {self._max_attempts} times; "
            f"last: {last_error}"
        ) from last_error

    def _execute(self, changes: Sequence[Change], attempt: _Attempt) -> TransactionResult:
        connection = self._connect()
        found = connection.execute("SELECT pg_current_xact_id()::text").fetchone()
        assert found is not None
        attempt.xid = found[0]
        for change in changes:
            try:
                self._apply(connection, change, attempt.result)
            except psycopg.OperationalError:
                raise
            except psycopg.Error as error:
                connection.rollback()
                raise ChangeRejected(describe(change), error) from error
        connection.commit()
        return attempt.result

    def _apply(
        self, connection: psycopg.Connection[Any], change: Change, result: TransactionResult
    ) -> None:
        counts = result.tables[change.table]
        if isinstance(change, Insert):
            values = adapt(change.table, change.row)
            statement = _insert_sql(self._schema, change.table, tuple(values))
            inserted = connection.execute(statement, list(values.values())).rowcount
            counts.inserts += inserted
            if change.reinsert and inserted:
                counts.reinserts += inserted
                result.reinserted.append((change.table, change.key))
        elif isinstance(change, Update):
            values = adapt(change.table, change.values)
            statement = _update_sql(self._schema, change.table, tuple(values))
            counts.updates += connection.execute(statement, [*values.values(), change.key]).rowcount
        elif isinstance(change, Delete):
            cascaded = 0
            if change.table == "customers":
                cascaded = self._lock_customer(connection, change.key)
            statement = _delete_sql(self._schema, change.table)
            deleted = connection.execute(statement, (change.key,)).rowcount
            counts.deletes += deleted
            if deleted and cascaded:
                result.tables["orders"].deletes += cascaded
                result.cascaded_deletes += cascaded

    def _lock_customer(self, connection: psycopg.Connection[Any], customer_id: int) -> int:
        """Lock a customer against new orders and count the orders its delete will cascade to."""
        connection.execute(
            sql.SQL("SELECT 1 FROM {} WHERE id = %s FOR UPDATE").format(
                qualified(self._schema, "customers")
            ),
            (customer_id,),
        )
        found = connection.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE customer_id = %s").format(
                qualified(self._schema, "orders")
            ),
            (customer_id,),
        ).fetchone()
        assert found is not None
        return int(found[0])

    def _committed(self, xid: str) -> bool:
        """Whether transaction ``xid`` committed, asked on a new connection."""
        last_error: psycopg.OperationalError | None = None
        for attempt_number in range(1, self._max_attempts + 1):
            try:
                connection = self._connect()
                found = connection.execute("SELECT pg_xact_status(%s::xid8)", (xid,)).fetchone()
                connection.rollback()
            except psycopg.OperationalError as error:
                last_error = error
                self._abandon()
            else:
                status = found[0] if found else None
                if status != "in progress":  # the failed backend may not have ended yet
                    return status == "committed"
            self._back_off(attempt_number + 1)
        raise SourceUnavailable(
            f"could not learn whether transaction {xid} committed; last error: {last_error}"
        ) from last_error

    def _connect(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed or self._connection.broken:
            self.close()
            self._connection = psycopg.connect(
                verified(self._dsn),
                application_name=f"{APPLICATION_NAME}:{self._schema}"[:63],
                connect_timeout=10,
            )
        return self._connection

    def _abandon(self) -> None:
        """Roll back after a failure, or drop the connection when it is unusable."""
        connection = self._connection
        if connection is None or connection.closed or connection.broken:
            self.close()
            return
        try:
            connection.rollback()
        except psycopg.OperationalError:
            self.close()

    def _back_off(self, attempt_number: int) -> None:
        delay = min(self._backoff_s * 2 ** (attempt_number - 2), 5.0)
        time.sleep(delay * (0.5 + self._jitter.random()))


# Statements are composed once per table and column set: composing costs more than running.
@functools.lru_cache(maxsize=256)
def _insert_sql(schema: str, table: Table, columns: tuple[str, ...]) -> bytes:
    return (
        sql.SQL("INSERT INTO {} ({}) VALUES ({})")
        .format(
            qualified(schema, table),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        )
        .as_bytes()
    )


@functools.lru_cache(maxsize=256)
def _update_sql(schema: str, table: Table, columns: tuple[str, ...]) -> bytes:
    assignments = (sql.SQL("{} = %s").format(sql.Identifier(name)) for name in columns)
    return (
        sql.SQL("UPDATE {} SET {} WHERE id = %s")
        .format(qualified(schema, table), sql.SQL(", ").join(assignments))
        .as_bytes()
    )


@functools.lru_cache(maxsize=64)
def _delete_sql(schema: str, table: Table) -> bytes:
    return sql.SQL("DELETE FROM {} WHERE id = %s").format(qualified(schema, table)).as_bytes()

"""DDL a batch needs, applied outside the batch transaction with a bounded lock wait.

A writer raises :class:`~sinks.base.SchemaChangeRequired` when its tables must change first
(the CDC mirror: created, a column added or widened). Each change then runs in a
transaction of its own:

- ``lock_timeout`` is ``HEADWATER_SINK__DDL_LOCK_TIMEOUT_S`` (5 s by default), so an
  ``ALTER TABLE`` queued behind an analyst's long query gives up instead of blocking every
  reader queued behind it in turn; the batch is retried with the sink's capped backoff
  (:class:`TableLocked` is transient) until the lock is free;
- ``statement_timeout`` is lifted: once it holds the lock, a column type change that
  rewrites a large table must finish, or every retry would redo the rewrite and cancel it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from sinks.base import SchemaChange, SchemaChangeRequired, SinkError, WarehouseUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Rounds of DDL one batch may ask for. A writer asks again only when another sink changed
#: the same table meanwhile; more rounds than this mean its view of its tables does not
#: converge (a bug), which must stop the sink rather than loop.
MAX_ROUNDS = 5


class TableLocked(WarehouseUnavailable):
    """A DDL gave up waiting for its table's lock; the batch is retried later."""


def write_after_schema_changes(
    connection: psycopg.Connection, write: Callable[[], T], lock_timeout_s: float
) -> T:
    """``write()`` (a batch in its own transaction), after the DDL it asks for."""
    for _ in range(MAX_ROUNDS):
        try:
            return write()
        except SchemaChangeRequired as required:
            for change in required.changes:
                apply_schema_change(connection, change, lock_timeout_s)
    raise SinkError(f"the batch still needs DDL after {MAX_ROUNDS} rounds of it")


def apply_schema_change(
    connection: psycopg.Connection, change: SchemaChange, lock_timeout_s: float
) -> None:
    """Run one DDL step in a transaction of its own, waiting at most ``lock_timeout_s``."""
    if connection.info.transaction_status != TransactionStatus.IDLE:
        raise SinkError(f"DDL on {change.table} asked for inside an open transaction")
    try:
        with connection.transaction():
            connection.execute(
                sql.SQL("SET LOCAL lock_timeout = {}").format(
                    sql.Literal(f"{max(1, round(lock_timeout_s * 1000))}ms")
                )
            )
            connection.execute("SET LOCAL statement_timeout = 0")
            change.apply(connection)
    except psycopg.errors.LockNotAvailable as error:
        raise TableLocked(
            f"{change.table}: {change.description} gave up waiting {lock_timeout_s:g} s for "
            "the table's lock (a long query or an open transaction holds it); retrying"
        ) from error
    log.info("changed a table", extra={"table": change.table, "change": change.description})

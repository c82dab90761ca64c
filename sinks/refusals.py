"""Writing a batch around the records the warehouse refuses (a NUL byte, a number out of
range): they are found by halving, each try rolled back to a savepoint, and the rest is
written in one go, the same rows as a batch without them."""

from __future__ import annotations

import logging

import psycopg

from sinks.base import BatchWriter, Reject, SinkError, SinkRecord, WriteStats, is_refusal

log = logging.getLogger(__name__)


def write_around_refusals(
    connection: psycopg.Connection, writer: BatchWriter, batch: list[SinkRecord], sink: str
) -> WriteStats:
    """Write the batch inside the caller's transaction; the records the warehouse refuses
    come back in the stats' rejects, with the writer's own."""
    refused: list[Reject] = []
    while True:
        try:
            with connection.transaction():  # a savepoint inside the batch's transaction
                stats = writer.write(connection, batch)
        except Exception as error:
            if not is_refusal(error):
                raise
            found = refused_records(connection, writer, batch)
            if not found:  # the batch fails, yet no part of it does alone
                raise SinkError(f"batch refused, but no record alone: {error}") from error
            refused += found
            bad = {id(reject.record) for reject in found}
            batch = [record for record in batch if id(record) not in bad]
            log.warning(
                "warehouse refused records; writing the rest",
                extra={"sink": sink, "refused": len(found), "error": str(error)},
            )
            continue
        stats.rejects += refused
        return stats


def refused_records(
    connection: psycopg.Connection, writer: BatchWriter, records: list[SinkRecord]
) -> list[Reject]:
    """The records the warehouse refuses, by halving; every try is rolled back."""
    try:
        with connection.transaction() as trial:
            writer.write(connection, records)
            raise psycopg.Rollback(trial)  # only a trial: nothing of it stays
    except Exception as error:
        if not is_refusal(error):
            raise
        if len(records) == 1:
            reason = f"the warehouse refused it: {error}".strip()
            return [Reject(records[0], reason, type(error).__name__)]
        middle = len(records) // 2
        return refused_records(connection, writer, records[:middle]) + refused_records(
            connection, writer, records[middle:]
        )
    return []

"""Consumed offsets kept in the warehouse, committed in the same transaction as the rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import psycopg
from psycopg import sql

from sinks.ddl import create_schema, create_table

SCHEMA = "headwater"
TABLE_NAME = "sink_offsets"
TABLE = sql.Identifier(SCHEMA, TABLE_NAME)


class OffsetStore:
    """Per sink, topic and partition: the next offset to consume."""

    def __init__(self, sink: str) -> None:
        self.sink = sink

    @staticmethod
    def prepare(connection: psycopg.Connection) -> None:
        """Create the offsets table (idempotent)."""
        create_schema(connection, SCHEMA)
        create_table(
            connection,
            SCHEMA,
            TABLE_NAME,
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (sink text NOT NULL, topic text NOT NULL, "
                "partition integer NOT NULL, next_offset bigint NOT NULL, "
                "updated_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (sink, topic, partition))"
            ).format(TABLE),
        )

    def load(
        self, connection: psycopg.Connection, partitions: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        """Stored next offsets for the given (topic, partition) pairs; missing ones are absent."""
        wanted = list(partitions)
        if not wanted:
            return {}
        rows = connection.execute(
            sql.SQL(
                "SELECT topic, partition, next_offset FROM {} WHERE sink = %s "
                "AND (topic, partition) IN (SELECT * FROM unnest(%s::text[], %s::int[]))"
            ).format(TABLE),
            (self.sink, [t for t, _ in wanted], [p for _, p in wanted]),
        ).fetchall()
        return {(topic, partition): offset for topic, partition, offset in rows}

    def save(self, connection: psycopg.Connection, offsets: Mapping[tuple[str, int], int]) -> None:
        """Upsert next offsets, inside the caller's transaction."""
        if not offsets:
            return
        with connection.cursor() as cursor:
            cursor.executemany(
                sql.SQL(
                    "INSERT INTO {} (sink, topic, partition, next_offset) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (sink, topic, partition) DO UPDATE "
                    "SET next_offset = EXCLUDED.next_offset, updated_at = now()"
                ).format(TABLE),
                [(self.sink, t, p, o) for (t, p), o in offsets.items()],
            )

    def reset(self, connection: psycopg.Connection) -> int:
        """Forget every offset of this sink, so it replays its topics from the beginning."""
        cursor = connection.execute(
            sql.SQL("DELETE FROM {} WHERE sink = %s").format(TABLE), (self.sink,)
        )
        return cursor.rowcount

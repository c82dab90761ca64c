"""Rejected records, kept in the warehouse with the batch and then published to ``dlq.sink``.

A reject is written to ``headwater.sink_rejects`` in the batch's own transaction, beside the
rows and the offsets: it is decided exactly when the batch commits, and a batch that is
retried (its transaction rolled back) decides it again without a trace of the first try.
Only after the commit is it produced to ``dlq.sink`` and marked published, so a retried
batch never publishes twice (a transactional outbox). A crash between the produce and the
mark publishes it once more on the next start, under the same key and coordinates.
"""

from __future__ import annotations

import json
import logging

import psycopg
from confluent_kafka import KafkaError, KafkaException, Producer
from psycopg import sql

from headwater import dlq
from headwater.dlq import dlq_headers
from headwater.errors import DependencyUnavailable
from headwater.kafka.delivery import DeliveryTracker
from sinks.base import Reject
from sinks.ddl import create_table
from sinks.dlq import DLQ_TOPIC, STAGE
from sinks.offsets import SCHEMA

log = logging.getLogger(__name__)

TABLE_NAME = "sink_rejects"
TABLE = sql.Identifier(SCHEMA, TABLE_NAME)
#: The original record's timestamp (ms): a dead letter's own is when it was refused, so that
#: the DLQ's retention and ``headwater dlq --since`` count from then.
SOURCE_TIMESTAMP = "dlq.source.timestamp"
#: Rejects published per round trip to Kafka.
PUBLISH_BATCH = 500


class RejectOutbox:
    """One sink's rejects: added inside a batch, published to the DLQ after it commits."""

    def __init__(self, sink: str, writer: str) -> None:
        self.sink = sink  # the consumer group: whose batch rejected it
        self.stage = f"{STAGE}.{writer}"  # the ``dlq.stage`` header: which writer refused it

    @staticmethod
    def prepare(connection: psycopg.Connection) -> None:
        """Create the outbox table (idempotent)."""
        create_table(
            connection,
            SCHEMA,
            TABLE_NAME,
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "sink text NOT NULL, topic text NOT NULL, partition integer NOT NULL, "
                '"offset" bigint NOT NULL, reason text NOT NULL, error text NOT NULL, '
                "key bytea, value bytea, headers jsonb NOT NULL, timestamp_ms bigint, "
                "rejected_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz, "
                'PRIMARY KEY (sink, topic, partition, "offset"))'
            ).format(TABLE),
        )

    def add(self, connection: psycopg.Connection, rejects: list[Reject]) -> None:
        """Keep the rejects, inside the caller's (the batch's) transaction.

        A record rejected again (a replay of the same offsets) keeps its first entry: it is
        in the DLQ already.
        """
        if not rejects:
            return
        with connection.cursor() as cursor:
            cursor.executemany(
                sql.SQL(
                    'INSERT INTO {} (sink, topic, partition, "offset", reason, error, key, '
                    "value, headers, timestamp_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                    '%s, %s) ON CONFLICT (sink, topic, partition, "offset") DO NOTHING'
                ).format(TABLE),
                [
                    (
                        self.sink,
                        reject.record.topic,
                        reject.record.partition,
                        reject.record.offset,
                        reject.reason,
                        reject.error,
                        reject.record.key,
                        reject.record.value,
                        json.dumps(_headers_json(reject.record.headers)),
                        reject.record.timestamp_ms,
                    )
                    for reject in rejects
                ],
            )

    def publish(self, connection: psycopg.Connection, producer: Producer) -> int:
        """Produce every unpublished reject to ``dlq.sink``, then mark it published.

        Raises when Kafka does not acknowledge them: they stay unpublished, for the next call.
        """
        published = 0
        while True:
            rows = connection.execute(
                sql.SQL(
                    'SELECT topic, partition, "offset", reason, error, key, value, headers, '
                    "timestamp_ms FROM {} WHERE sink = %s AND published_at IS NULL "
                    'ORDER BY topic, partition, "offset" LIMIT %s'
                ).format(TABLE),
                (self.sink, PUBLISH_BATCH),
            ).fetchall()
            connection.commit()
            if not rows:
                return published
            delivery = DeliveryTracker()
            try:
                for topic, partition, offset, reason, error, key, value, headers, stamp in rows:
                    letter = [
                        *dlq_headers(self.stage, reason, topic, partition, offset),
                        (dlq.ERROR, error.encode()),
                        *([(SOURCE_TIMESTAMP, str(stamp).encode())] if stamp else []),
                        *_headers_from_json(headers),
                    ]
                    try:
                        producer.produce(
                            DLQ_TOPIC, key=key, value=value, headers=letter, on_delivery=delivery
                        )
                    except KafkaException as failure:
                        if failure.args[0].code() != KafkaError.MSG_SIZE_TOO_LARGE:
                            raise
                        size = len(key or b"") + len(value or b"")
                        letter.append(dlq.omitted(size))
                        producer.produce(DLQ_TOPIC, headers=letter, on_delivery=delivery)
                delivery.confirm(producer, 30)
            except (KafkaException, BufferError, DependencyUnavailable) as failure:
                raise DeadLettersNotAcknowledged(
                    f"{len(rows)} dead letters of {self.sink} not acknowledged by Kafka: {failure}"
                ) from failure
            with connection.transaction():
                connection.execute(
                    sql.SQL(
                        "UPDATE {} SET published_at = now() WHERE sink = %s AND "
                        '(topic, partition, "offset") IN '
                        "(SELECT * FROM unnest(%s::text[], %s::int[], %s::bigint[]))"
                    ).format(TABLE),
                    (self.sink, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
                )
            published += len(rows)
            log.info("dead letters published", extra={"sink": self.sink, "records": len(rows)})


class DeadLettersNotAcknowledged(DependencyUnavailable):
    """Kafka did not acknowledge the dead letters; they are published again later."""


def _headers_json(headers: tuple[tuple[str, bytes | None], ...]) -> list[list[str | None]]:
    """Original headers as JSON: name and value in hex (values are bytes, or None)."""
    return [[name, value.hex() if value is not None else None] for name, value in headers]


def _headers_from_json(headers: list[list[str | None]]) -> list[tuple[str, bytes | None]]:
    return [
        (str(name), bytes.fromhex(value) if value is not None else None) for name, value in headers
    ]

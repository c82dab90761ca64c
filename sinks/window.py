"""Landing a window of a sink's topics once: a bounded replay (``headwater replay sink
--until``) or a replay into a shadow table (``--into-shadow``).

Unlike the service (``runner.py``) it joins no consumer group and stores no offsets: it reads
exactly the planned records, writes them in batches with the sink's writer (the records
the warehouse refuses isolated as the service does) and stops. A window landed twice gives
the same rows, so one that failed half-way is simply run again.

The records of a key after the window must keep the last word: if the window held an
older record of a key (say, values a buggy normalizer wrote, fixed later under the same
version), landing it again would undo the fix. So after the window, the records up to the
end when planned are read too, and those of keys the window touched are landed again: for
those keys the table ends as if everything had been read in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from headwater.errors import ConfigurationError
from headwater.kafka.clients import make_producer
from headwater.kafka.ranges import OffsetRange, read_ranges
from headwater.postgres import connect
from headwater.settings import Settings
from sinks.base import BatchWriter, SinkRecord, WarehouseUnavailable, WriteStats, sink_record
from sinks.refusals import write_around_refusals
from sinks.rejects import RejectOutbox
from sinks.schema_changes import write_after_schema_changes

#: What a warehouse that went away mid-window raises; the window is landed again.
_OUTAGE = (psycopg.OperationalError, psycopg.InterfaceError)

Key = tuple[str, int, bytes]


@dataclass
class LandingReport:
    """What landing a window did: records read, and what their batches did together."""

    records: int = 0
    written: WriteStats = field(default_factory=WriteStats)
    #: records read after the window, and how many of them were of keys it touched
    later_read: int = 0
    later_landed: int = 0


class WindowLanding:
    """Lands planned ranges of a sink's topics with its writer, in no consumer group."""

    def __init__(
        self,
        settings: Settings,
        writer: BatchWriter,
        dead_letters: RejectOutbox | None = None,
    ) -> None:
        if settings.warehouse.dsn is None:
            raise ConfigurationError("HEADWATER_WAREHOUSE__DSN", "is needed to land a window")
        self.settings = settings
        self.writer = writer
        #: where refused records go (the live table's sink); None keeps them in the report
        self.dead_letters = dead_letters
        self._dsn = settings.warehouse.dsn.get_secret_value()

    def land(self, window: Sequence[OffsetRange], after: Sequence[OffsetRange]) -> LandingReport:
        """Land the window, then the records after it of the keys it touched."""
        report = LandingReport()
        touched: set[Key] = set()
        size = self.settings.sink.batch_size
        try:
            with connect(self._dsn, self.settings.warehouse) as connection:
                self.writer.prepare(connection)
                RejectOutbox.prepare(connection)
                connection.commit()
                for messages in read_ranges(self.settings.kafka, window, size):
                    batch = [sink_record(message) for message in messages]
                    touched |= {_key(r) for r in batch if r.key is not None}
                    report.records += len(batch)
                    self._write(connection, batch, report)
                for messages in read_ranges(self.settings.kafka, after if touched else [], size):
                    batch = [r for r in map(sink_record, messages) if _key(r) in touched]
                    report.later_read += len(messages)
                    report.later_landed += len(batch)
                    self._write(connection, batch, report)
                if self.dead_letters is not None and report.written.rejects:
                    self.dead_letters.publish(connection, make_producer(self.settings.kafka))
        except _OUTAGE as error:
            raise WarehouseUnavailable(
                f"the warehouse went away after {report.records} records: {error}; "
                "run the replay again (it lands the same rows)"
            ) from error
        return report

    def _write(
        self, connection: psycopg.Connection, batch: list[SinkRecord], report: LandingReport
    ) -> None:
        if not batch:
            return

        def write() -> WriteStats:
            with connection.transaction():
                stats = write_around_refusals(connection, self.writer, batch, self.writer.name)
                if self.dead_letters is not None:
                    self.dead_letters.add(connection, stats.rejects)
            return stats

        # the DDL a batch needs (a CDC mirror's new column) first, as the service runs it
        lock_timeout_s = self.settings.sink.ddl_lock_timeout_s
        stats = write_after_schema_changes(connection, write, lock_timeout_s)
        total = report.written
        total.rows_written += stats.rows_written
        total.skipped_by_version += stats.skipped_by_version
        total.filtered += stats.filtered
        total.rejects += stats.rejects


def _key(record: SinkRecord) -> Key:
    return (record.topic, record.partition, record.key or b"")

"""A sink run by the real SinkRunner over a test's own topic, until its offsets are stored and
its dead letters published, and the dead letters it wrote to ``dlq.sink``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg

from headwater import dlq
from headwater.kafka.clients import make_admin
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.settings import Settings
from sinks.base import BatchWriter
from sinks.dlq import DLQ_TOPIC
from sinks.offsets import TABLE as OFFSETS
from sinks.rejects import TABLE as REJECTS
from sinks.runner import SinkRunner
from tests.conftest import wait_for
from tests.support.bad_inputs import Bad, Check, assert_dead_letter
from tests.support.kafka_io import MAX_MESSAGE_BYTES, Record, fill, read_all
from tests.support.running import Worker
from tests.support.sink_positions import topic_ends
from tests.support.stage_run import DeadLetter, dead_letter


class SinkRun:
    """One writer over a topic of the run's own; the letters it sent to ``dlq.sink``."""

    def __init__(self, settings: Settings, role: str) -> None:
        self.settings = settings
        self.tag = f"{role}{uuid.uuid4().hex[:8]}"
        self.topic = f"test.badinput.{self.tag}.sink"
        self.group = f"test-badinput-{self.tag}"
        assert settings.warehouse.dsn is not None
        self.dsn = settings.warehouse.dsn.get_secret_value()
        config = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
        ensure_topics(
            make_admin(settings.kafka),
            [TopicSpec(self.topic, 1, 1, config), TopicSpec(DLQ_TOPIC, 1, 1, {})],
        )

    def run(self, writer: BatchWriter, records: Sequence[Record]) -> dict[int, DeadLetter]:
        """Land the records; the dead letters of the topic, by the offset they stand for."""
        start = _end(self.settings, DLQ_TOPIC)
        fill(self.settings, self.topic, records)
        worker = Worker(SinkRunner(self.settings, writer, [self.topic], self.group))

        def done() -> bool:
            if not worker.thread.is_alive():
                raise AssertionError(f"the sink stopped: {worker.error!r}") from worker.error
            with psycopg.connect(self.dsn) as warehouse:
                if warehouse.execute("SELECT to_regclass('headwater.sink_rejects')").fetchone() == (
                    None,
                ):
                    return False  # the sink has not prepared its tables yet
                stored = warehouse.execute(
                    f"SELECT next_offset FROM {OFFSETS.as_string(warehouse)} "
                    "WHERE sink = %s AND topic = %s",
                    (self.group, self.topic),
                ).fetchone()
                unpublished = warehouse.execute(
                    f"SELECT count(*) FROM {REJECTS.as_string(warehouse)} "
                    "WHERE sink = %s AND published_at IS NULL",
                    (self.group,),
                ).fetchone()
            return bool(stored and stored[0] >= len(records) and unpublished == (0,))

        try:
            wait_for(done, timeout_s=120, interval_s=0.5, what="the batch stored and published")
        finally:
            worker.close()
        letters: dict[int, DeadLetter] = {}
        for message in read_all(self.settings, DLQ_TOPIC, start={0: start}):
            letter = dead_letter(message)
            if letter.headers.get(dlq.SOURCE_TOPIC) == self.topic:
                offset = int(letter.headers[dlq.SOURCE_OFFSET])
                assert offset not in letters, f"dead-lettered twice: {offset}"
                letters[offset] = letter
        return letters

    def close(self) -> None:
        """Delete the topic and the sink's bookkeeping."""
        make_admin(self.settings.kafka).delete_topics([self.topic])
        with psycopg.connect(self.dsn) as warehouse:
            for table in (OFFSETS, REJECTS):
                name = table.as_string(warehouse)
                if warehouse.execute("SELECT to_regclass(%s)", (name,)).fetchone() == (None,):
                    continue  # no sink prepared its tables (it never ran)
                warehouse.execute(
                    f"DELETE FROM {table.as_string(warehouse)} WHERE sink = %s", (self.group,)
                )


def _end(settings: Settings, topic: str) -> int:
    return topic_ends(settings, topic)[(topic, 0)]


@contextmanager
def sink_run(settings: Settings, role: str) -> Iterator[SinkRun]:
    """A :class:`SinkRun` cleaned up afterwards."""
    run = SinkRun(settings, role)
    try:
        yield run
    finally:
        run.close()


def refused_by(writer: str) -> Check:
    """The check of a sink's dead letter: the case's reason, the writer that refused it and the
    class of the error that said so, with the original record (or a note of what was left)."""

    def check(letter: DeadLetter | None, case: Bad) -> None:
        assert_dead_letter(letter, case)
        assert letter is not None
        assert letter.headers[dlq.STAGE] == f"sink.{writer}"
        assert letter.headers[dlq.ERROR]

    return check

"""Processor stages run by the real batch runner on a test's own topics, and what came out.

A :class:`StageRun` creates single-partition topics (so a record's offset is its place in
the batch the test produced), fills them, runs the stages in a :class:`BatchRunner` of its
own group until every input is committed, then reads every output topic and the stages'
dead-letter topic back.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Message

from headwater import dlq
from headwater.avro import record_reader
from headwater.kafka.clients import make_admin, message_headers
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.settings import Settings
from stream_processors.base import Stage, StatefulStage, Transform
from stream_processors.output import Output
from stream_processors.runner import BatchRunner
from tests.conftest import wait_for
from tests.support.kafka_io import MAX_MESSAGE_BYTES, Record, committed, fill, read_all
from tests.support.progress import group_caught_up
from tests.support.running import Worker


@dataclass(frozen=True)
class DeadLetter:
    """A record on a dead-letter topic, with the headers that explain it."""

    key: bytes | None
    value: bytes | None
    headers: dict[str, str]

    @property
    def reason(self) -> str:
        """Why it was rejected."""
        return self.headers[dlq.REASON]


def read_record(record: str, message: Message) -> dict[str, Any]:
    """A consumed record of ``schemas/<record>.avsc``, read as every reader reads it: with the
    writer schema its header names."""
    return record_reader(record)(message.value() or b"", message_headers(message))


def dead_letter(message: Message) -> DeadLetter:
    """A consumed dead letter."""
    headers = {
        name: value.decode(errors="replace")
        for name, value in message.headers() or []
        if value is not None
    }
    return DeadLetter(message.key(), message.value(), headers)


@dataclass
class Outcome:
    """What a run wrote: the records of each output topic, and the dead letters by the
    (source topic, offset) of the record they stand for."""

    outputs: dict[str, list[Message]] = field(default_factory=dict)
    dead: dict[tuple[str, int], DeadLetter] = field(default_factory=dict)

    def letters(self, topic: str) -> dict[int, DeadLetter]:
        """The dead letters of one input topic, by the offset they stand for."""
        return {offset: letter for (source, offset), letter in self.dead.items() if source == topic}


@dataclass(frozen=True)
class NormalizerRun:
    """A normalizer's run: the raw topic it read, the topic it wrote, what came out."""

    raw: str
    normalized: str
    outcome: Outcome


def retarget(stage: Stage, label: str, sources: Sequence[str] | None = None) -> Stage:
    """The stage with another label (so its DLQ is ``dlq.<label>``) and other sources."""
    moved = copy.copy(stage)
    moved.label = label
    if sources is not None:
        moved.sources = tuple(sources)
    return moved


def redirected(transform: Transform, topics: Mapping[str, str]) -> Transform:
    """The transform with its outputs sent to the test's topics (by the product's topic)."""

    def run(topic: str, key: bytes | None, value: bytes | None) -> list[Output]:
        return [
            dataclasses.replace(output, topic=topics.get(output.topic, output.topic))
            for output in transform(topic, key, value)
        ]

    return run


class StageRun:
    """One test's topics, group and DLQ label; ``run`` drives stages over them."""

    def __init__(self, settings: Settings, role: str) -> None:
        self.tag = f"{role}{uuid.uuid4().hex[:8]}"
        self.group = f"test-badinput-{self.tag}"
        self.label = f"badinput{self.tag}"
        processor = settings.processor.model_copy(update={"app_id": self.group})
        self.settings = settings.model_copy(update={"processor": processor})
        self.dlq = dlq.dlq_topic(self.label)
        self._made: list[str] = []
        self.ensure([self.dlq])

    def topic(self, role: str) -> str:
        """A topic of this run's own, created now."""
        name = f"test.badinput.{self.tag}.{role}"
        self.ensure([name])
        return name

    def ensure(self, names: Sequence[str], compacted: bool = False) -> None:
        """Create single-partition topics that hold records of up to 16 MiB."""
        config = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
        if compacted:
            config["cleanup.policy"] = "compact"
        ensure_topics(make_admin(self.settings.kafka), [TopicSpec(n, 1, 1, config) for n in names])
        self._made += names

    def run(
        self,
        stages: Sequence[Stage],
        inputs: Mapping[str, Sequence[Record]],
        outputs: Sequence[str],
        internal: Sequence[str] = (),
    ) -> Outcome:
        """Fill the inputs, run the stages until everything (also the ``internal`` topics
        between stages) is committed, and read the outputs and dead letters."""
        self.ensure([s.changelog for s in stages if isinstance(s, StatefulStage)], True)
        for topic, records in inputs.items():
            fill(self.settings, topic, records)
        worker = Worker(BatchRunner(self.settings, stages))

        def inputs_committed() -> bool:
            return _alive(worker) and all(
                committed(self.settings, self.group, topic) >= len(records)
                for topic, records in inputs.items()
            )

        def internal_caught_up() -> bool:
            return _alive(worker) and group_caught_up(
                self.settings.kafka, self.group, list(internal)
            )

        try:
            wait_for(inputs_committed, timeout_s=90, what="every input committed")
            if internal:  # read after the inputs: their ends are final by then
                wait_for(internal_caught_up, timeout_s=90, what="the stages between caught up")
        finally:
            worker.close()
        outcome = Outcome({topic: read_all(self.settings, topic) for topic in outputs})
        for message in read_all(self.settings, self.dlq):
            letter = dead_letter(message)
            source = (letter.headers[dlq.SOURCE_TOPIC], int(letter.headers[dlq.SOURCE_OFFSET]))
            assert source not in outcome.dead, f"dead-lettered twice: {source}"
            outcome.dead[source] = letter
        return outcome

    def close(self) -> None:
        """Delete the run's topics."""
        make_admin(self.settings.kafka).delete_topics(self._made)


def _alive(worker: Worker[BatchRunner]) -> bool:
    """True while the runner runs; its error fails the test at once when it died."""
    if not worker.thread.is_alive():
        raise AssertionError(f"the batch runner stopped: {worker.error!r}") from worker.error
    return True


def run_normalizer(
    settings: Settings,
    role: str,
    stage_of: Callable[[StageRun, str, str], Stage],
    records: Sequence[Record],
) -> Iterator[NormalizerRun]:
    """A normalizer (``stage_of(run, raw, normalized)``) over the records on a raw topic of
    the run's own, until all of them are committed; for a module fixture to yield from."""
    with stage_run(settings, role) as run:
        raw, normalized = run.topic("raw"), run.topic("normalized")
        stage = stage_of(run, raw, normalized)
        yield NormalizerRun(raw, normalized, run.run([stage], {raw: records}, [normalized]))


@contextmanager
def stage_run(settings: Settings, role: str) -> Iterator[StageRun]:
    """A :class:`StageRun` whose topics are deleted afterwards."""
    run = StageRun(settings, role)
    try:
        yield run
    finally:
        run.close()

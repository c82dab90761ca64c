"""A normalizing Faust agent: each input record becomes zero or more outputs, or a dead letter.

Every stage that turns one topic's records into another's shares this loop: the counters,
the DLQ routing with the reason and source coordinates, the processing and event-time lag
histograms. Faust commits the input offsets only after the outputs were flushed
(at-least-once); the sinks' version guards make redelivery harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import faust

from headwater.dlq import dlq_headers, dlq_topic, reason_label
from stream_processors.errors import RejectedRecord
from stream_processors.metrics import (
    EVENT_LAG_SECONDS,
    PROCESSING_SECONDS,
    RECORDS_FILTERED,
    RECORDS_IN,
    RECORDS_OUT,
    RECORDS_REJECTED,
)
from stream_processors.output import Output

STAGE = "normalize"

#: (source topic, key, value) -> outputs; raises RejectedRecord with the reason.
Transform = Callable[[str, bytes | None, bytes | None], list[Output]]

log = logging.getLogger(__name__)


def bytes_topic(app: faust.App, *names: str) -> Any:
    """Topics whose keys and values are bytes: we serialize ourselves (Avro, JSON)."""
    return app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def _transform_or_reject(
    transform: Transform, topic: str, key: bytes | None, value: bytes | None
) -> list[Output]:
    try:
        return transform(topic, key, value)
    except RejectedRecord:
        raise
    except (ValueError, KeyError, TypeError, EOFError, UnicodeDecodeError) as error:
        # A record the transform cannot read must not crash-loop the worker: dead-letter it.
        raise RejectedRecord(f"cannot read the record: {type(error).__name__}: {error}") from error


def relay(
    app: faust.App, name: str, sources: list[str], transform: Transform, stage: str = STAGE
) -> None:
    """Register an agent that transforms ``sources`` into the topics its outputs name."""
    inputs = bytes_topic(app, *sources)
    outputs: dict[str, Any] = {}
    dead_letters = bytes_topic(app, dlq_topic(stage))

    async def agent(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            RECORDS_IN.labels(stage, message.topic).inc()
            started = time.perf_counter()
            try:
                produced = _transform_or_reject(transform, message.topic, event.key, event.value)
            except RejectedRecord as rejected:
                RECORDS_REJECTED.labels(stage, message.topic, reason_label(rejected.reason)).inc()
                log.warning(
                    "rejected a record",
                    extra={"agent": name, "reason": rejected.reason, "topic": message.topic,
                           "partition": message.partition, "offset": message.offset},
                )  # fmt: skip
                await dead_letters.send(
                    key=event.key,
                    value=event.value,
                    headers=dlq_headers(
                        stage, rejected.reason, message.topic, message.partition, message.offset
                    ),
                )
                continue
            if not produced:
                RECORDS_FILTERED.labels(stage, message.topic).inc()
            for output in produced:
                topic = outputs.get(output.topic)
                if topic is None:
                    topic = outputs[output.topic] = bytes_topic(app, output.topic)
                await topic.send(key=output.key, value=output.value, headers=output.headers)
                RECORDS_OUT.labels(stage, output.topic).inc()
            PROCESSING_SECONDS.labels(stage).observe(time.perf_counter() - started)
            if message.timestamp:
                EVENT_LAG_SECONDS.labels(stage).observe(max(0.0, time.time() - message.timestamp))

    app.agent(inputs, name=name)(agent)

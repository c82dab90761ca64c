"""The Faust agent that normalizes every captured table's Debezium topic."""

from __future__ import annotations

import logging
import time
from typing import Any

import faust

from headwater.dlq import dlq_headers, dlq_topic, reason_label
from headwater.settings import Settings
from stream_processors.cdc.normalize import norm_topic, normalize
from stream_processors.errors import RejectedRecord
from stream_processors.metrics import (
    EVENT_LAG_SECONDS,
    PROCESSING_SECONDS,
    RECORDS_FILTERED,
    RECORDS_IN,
    RECORDS_OUT,
    RECORDS_REJECTED,
)

STAGE = "normalize"

log = logging.getLogger(__name__)


def output_topics(settings: Settings) -> list[str]:
    """The norm.cdc.* topics the agent writes, one per captured table."""
    return [norm_topic(*table.split(".", 1)) for table in settings.cdc.tables]


def _raw_topic(app: faust.App, *names: str) -> Any:
    """Topics whose keys and values are bytes: we serialize ourselves (Avro, Debezium JSON)."""
    return app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def register(app: faust.App, settings: Settings) -> None:
    """Attach the CDC normalizer to the app."""
    sources = _raw_topic(app, *[settings.cdc.topic(table) for table in settings.cdc.tables])
    outputs = {name: _raw_topic(app, name) for name in output_topics(settings)}
    dead_letters = _raw_topic(app, dlq_topic(STAGE))

    async def normalize_cdc(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            RECORDS_IN.labels(STAGE, message.topic).inc()
            started = time.perf_counter()
            try:
                produced = normalize(event.key, event.value)
            except RejectedRecord as rejected:
                RECORDS_REJECTED.labels(STAGE, message.topic, reason_label(rejected.reason)).inc()
                log.warning(
                    "rejected a CDC record",
                    extra={"reason": rejected.reason, "topic": message.topic,
                           "partition": message.partition, "offset": message.offset},
                )  # fmt: skip
                await dead_letters.send(
                    key=event.key,
                    value=event.value,
                    headers=dlq_headers(
                        STAGE, rejected.reason, message.topic, message.partition, message.offset
                    ),
                )
                continue
            if not produced:
                RECORDS_FILTERED.labels(STAGE, message.topic).inc()
            for output in produced:
                topic = outputs.get(output.topic)
                if topic is None:  # a table the settings do not list: a topic we did not create
                    topic = outputs[output.topic] = _raw_topic(app, output.topic)
                await topic.send(key=output.key, value=output.value, headers=output.headers)
                RECORDS_OUT.labels(STAGE, output.topic).inc()
            PROCESSING_SECONDS.labels(STAGE).observe(time.perf_counter() - started)
            if message.timestamp:
                EVENT_LAG_SECONDS.labels(STAGE).observe(max(0.0, time.time() - message.timestamp))

    app.agent(sources, name="normalize_cdc")(normalize_cdc)

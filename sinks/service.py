"""Running a sink as a long-lived service: signals, health, metrics."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from headwater.http import HealthServer
from headwater.kafka.clients import START_CHECK_S, check_reachable, kafka_reachable, make_admin
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.lifecycle import stop_on_signals
from headwater.readiness import database_reachable
from headwater.settings import Settings
from sinks.base import BatchWriter
from sinks.dlq import DLQ_TOPIC
from sinks.runner import SinkRunner, warehouse_dsn

log = logging.getLogger(__name__)


def serve(
    settings: Settings,
    writer: BatchWriter,
    topics: Sequence[str],
    group_id: str,
    from_beginning: bool = False,
) -> None:
    """Run the sink until SIGTERM or SIGINT: then finish the batch, commit and exit.

    A missing setting is named before Kafka or the warehouse is contacted.
    """
    dsn = warehouse_dsn(settings)
    check_reachable(settings.kafka, START_CHECK_S)  # a refused login or CA is named here
    ensure_topics(
        make_admin(settings.kafka),
        [TopicSpec(DLQ_TOPIC, 1, settings.kafka.replication_factor, {"cleanup.policy": "delete"})],
    )
    runner = SinkRunner(settings, writer, topics, group_id, replay=from_beginning)
    checks = {
        "kafka": lambda: kafka_reachable(settings.kafka),
        "warehouse": lambda: database_reachable(dsn),
        "assigned": runner.assigned.is_set,
        "writing": runner.available.is_set,  # clear while it waits out a warehouse outage
    }
    with stop_on_signals() as stop, HealthServer(settings.http.host, settings.http.port, checks):
        runner.run(stop)

"""Running a sink as a long-lived service: signals, health, metrics."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from types import FrameType

import psycopg

from headwater.errors import DependencyUnavailable
from headwater.http import HealthServer
from headwater.kafka.clients import check_reachable, make_admin
from headwater.kafka.topics import TopicSpec, ensure_topics
from headwater.settings import Settings
from sinks.base import BatchWriter
from sinks.dlq import DLQ_TOPIC
from sinks.runner import SinkRunner

log = logging.getLogger(__name__)


def _warehouse_reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _kafka_reachable(settings: Settings) -> bool:
    try:
        return check_reachable(settings.kafka, timeout_s=2) > 0
    except DependencyUnavailable:
        return False


def serve(
    settings: Settings,
    writer: BatchWriter,
    topics: Sequence[str],
    group_id: str,
    from_beginning: bool = False,
) -> None:
    """Run the sink until SIGTERM or SIGINT: then finish the batch, commit and exit."""
    ensure_topics(
        make_admin(settings.kafka),
        [TopicSpec(DLQ_TOPIC, 1, settings.kafka.replication_factor, {"cleanup.policy": "delete"})],
    )
    runner = SinkRunner(settings, writer, topics, group_id, replay=from_beginning)
    stop = threading.Event()

    def on_signal(number: int, _frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(number).name})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    dsn = settings.warehouse.dsn.get_secret_value() if settings.warehouse.dsn else ""
    checks = {
        "kafka": lambda: _kafka_reachable(settings),
        "warehouse": lambda: _warehouse_reachable(dsn),
        "assigned": runner.assigned.is_set,
    }
    with HealthServer(settings.http.host, settings.http.port, checks):
        runner.run(stop)

"""``headwater process``: the Faust worker and its batch runner as a long-running service."""

from __future__ import annotations

import logging

import faust

from headwater.errors import DependencyUnavailable
from headwater.http import HealthServer
from headwater.kafka.clients import START_CHECK_S, check_reachable, kafka_reachable, make_admin
from headwater.kafka.librdkafka_log import AIOKAFKA_LOGGERS, hold_repeats
from headwater.kafka.topics import ensure_topics
from headwater.settings import Settings
from stream_processors.app import build_app, processor_stages
from stream_processors.runner import BatchRunner
from stream_processors.topics import processor_topics

log = logging.getLogger(__name__)


def run(settings: Settings) -> None:
    """Create the topics, serve health and metrics, and run the worker until SIGTERM.

    The stages are built first: a setting one of them cannot run without (the
    pseudonymisation key once CleverTap is set up) is named before Kafka is contacted.
    """
    stages = processor_stages(settings)
    for name in AIOKAFKA_LOGGERS:  # a broker away: one line a minute, not one per retry
        hold_repeats(name)
    check_reachable(settings.kafka, START_CHECK_S)  # a refused login or CA is named here
    created = ensure_topics(make_admin(settings.kafka), processor_topics(settings))
    if created:
        log.info("created topics", extra={"topics": created})
    app, service = build_app(settings, BatchRunner(settings, stages))
    checks = {
        "kafka": lambda: kafka_reachable(settings.kafka),
        "assigned": lambda: service.runner.assigned,
    }
    with HealthServer(settings.http.host, settings.http.port, checks):
        worker = faust.Worker(
            app,
            loglevel=settings.log.level,
            quiet=True,
            redirect_stdouts=False,
            override_logging=False,  # keep Headwater's structured, scrubbed log handler
        )
        try:
            worker.execute_from_commandline()
        except SystemExit:
            if service.error is None:
                raise
        raise DependencyUnavailable(f"the processor stopped: {service.error}") from service.error

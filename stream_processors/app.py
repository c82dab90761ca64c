"""The one Faust app of Headwater, with every agent registered."""

from __future__ import annotations

import faust

from headwater.settings import Settings
from stream_processors.ads import agent as ads_agent
from stream_processors.cdc import agent as cdc_agent
from stream_processors.events import agent as events_agent
from stream_processors.kpis import agent as kpi_agent
from stream_processors.monitor import prometheus_monitor


def build_app(settings: Settings) -> faust.App:
    """A Faust app configured from the settings, with its agents."""
    brokers = [f"kafka://{server}" for server in settings.kafka.bootstrap_servers.split(",")]
    app = faust.App(
        settings.processor.app_id,
        broker=brokers,
        store="memory://",
        topic_partitions=settings.processor.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        processing_guarantee="at_least_once",
    )
    app.monitor = prometheus_monitor()
    cdc_agent.register(app, settings)
    ads_agent.register(app, settings)
    if settings.clevertap.account_id is not None:  # CleverTap configured
        events_agent.register(app, settings)
    kpi_agent.register(app, settings)
    return app

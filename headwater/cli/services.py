"""The long-running services: ``headwater process`` and ``headwater sink <name>``."""

from __future__ import annotations

import click

from headwater.cli.context import pass_settings
from headwater.cli.options import sink_consumer_options
from headwater.settings import Settings


@click.command()
@pass_settings
def process(settings: Settings) -> None:
    """Run the processor: normalize the CDC and API topics and compute the campaign KPIs."""
    from stream_processors.worker import run

    run(settings)


@click.group()
def sink() -> None:
    """Write normalized topics into the warehouse, rows and offsets in one transaction."""


@sink.command()
@sink_consumer_options("cdc")
@pass_settings
def cdc(settings: Settings, group_id: str, from_beginning: bool) -> None:
    """Maintain the src_<table> mirrors from norm.cdc.*."""
    from sinks.cdc.mirror import MirrorWriter
    from sinks.service import serve

    serve(settings, MirrorWriter(), [settings.sink.cdc_topics], group_id, from_beginning)


def _simple_sink(name: str, doc: str) -> None:
    @sink.command(name=name, help=doc)
    @sink_consumer_options(name)
    @pass_settings
    def command(settings: Settings, group_id: str, from_beginning: bool) -> None:
        from sinks.registry import writer_and_topics
        from sinks.service import serve

        writer, topics = writer_and_topics(name)
        serve(settings, writer, topics, group_id, from_beginning)


_simple_sink("ad-performance", "Land norm.ads.performance_daily in ad_performance_daily.")
_simple_sink("app-events", "Land norm.app.events in app_events (each event once).")
_simple_sink("kpis", "Land metrics.campaigns.kpis_daily in campaign_kpis_daily.")

"""The long-running services: ``headwater process`` and ``headwater sink <name>``."""

from __future__ import annotations

import click

from control.cli.context import pass_settings
from control.cli.options import sink_consumer_options
from headwater.settings import Settings
from headwater.topology import PROCESSOR, SINKS, Sink, with_service_port


@click.command()
@pass_settings
def process(settings: Settings) -> None:
    """Run the processor: normalize the CDC and API topics and compute the campaign KPIs."""
    from stream_processors.worker import run

    run(with_service_port(settings, PROCESSOR))


@click.group()
def sink() -> None:
    """Write normalized topics into the warehouse, rows and offsets in one transaction."""


def _sink_command(entry: Sink) -> None:
    @sink.command(name=entry.name, help=entry.summary)
    @sink_consumer_options(entry.name)
    @pass_settings
    def command(settings: Settings, group_id: str, from_beginning: bool) -> None:
        from sinks.registry import writer_and_topics
        from sinks.service import serve

        writer, topics = writer_and_topics(entry.name, settings)
        serve(with_service_port(settings, entry.service), writer, topics, group_id, from_beginning)


for _entry in SINKS:
    _sink_command(_entry)

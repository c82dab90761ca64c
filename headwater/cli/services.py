"""The long-running services: ``headwater process`` and ``headwater sink <name>``."""

from __future__ import annotations

import click

from headwater.cli.context import pass_settings
from headwater.settings import Settings

CDC_TOPICS = r"^norm\.cdc\..*"


@click.command()
@pass_settings
def process(settings: Settings) -> None:
    """Run the Faust worker: normalize the CDC topics (and, later, the API topics)."""
    from stream_processors.worker import run

    run(settings)


@click.group()
def sink() -> None:
    """Write normalized topics into the warehouse, rows and offsets in one transaction."""


@sink.command()
@click.option(
    "--group-id",
    default="headwater-sink-cdc",
    show_default=True,
    help="Consumer group, and the key of the offsets stored in the warehouse.",
)
@click.option(
    "--from-beginning",
    is_flag=True,
    help="Forget the stored offsets and replay the topics (idempotent).",
)
@pass_settings
def cdc(settings: Settings, group_id: str, from_beginning: bool) -> None:
    """Maintain the src_<table> mirrors from norm.cdc.*."""
    from sinks.cdc.mirror import MirrorWriter
    from sinks.service import serve

    serve(settings, MirrorWriter(), [CDC_TOPICS], group_id, from_beginning)

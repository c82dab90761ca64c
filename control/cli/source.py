"""`headwater source`: Prepare the source database for change data capture."""

from __future__ import annotations

import click

from connectors.source_setup import setup_source
from control.cli.context import pass_settings
from headwater.settings import Settings


@click.group()
def source() -> None:
    """Prepare the source database for change data capture."""


@source.command()
@pass_settings
def setup(settings: Settings) -> None:
    """Create or update the replication role, grants, signaling table and publication."""
    changes = setup_source(settings)
    for change in changes:
        click.echo(change)
    if not changes:
        click.echo("source database already set up: nothing changed")

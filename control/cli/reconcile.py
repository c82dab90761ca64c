"""``headwater reconcile --date D``: the warehouse's ad totals against the APIs', per account."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from control.cli.context import pass_settings
from control.reconcile import AD_SOURCES, chosen_sources, reconcile
from headwater.settings import Settings


@click.command("reconcile")
@click.option(
    "--date",
    "day",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day (YYYY-MM-DD), as the platforms report it: in each account's time zone.",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Choice([source.name for source in AD_SOURCES]),
    help="Reconcile only this source (repeatable; default every source with accounts set).",
)
@pass_settings
def reconcile_command(settings: Settings, day: datetime, sources: tuple[str, ...]) -> None:
    """Compare the warehouse's spend, impressions, clicks and conversions of a day with the
    APIs' own totals, one line per account; exit 1 when any differs, 0 when all match.

    Spend and conversions are compared to the cent in the account currency. A day the
    platform restated after the pollers last pulled it differs: `headwater backfill` it.
    """
    differing = 0
    for comparison in reconcile(settings, chosen_sources(settings, sources), day.date()):
        click.echo(comparison.line())
        differing += not comparison.matches
    if differing:
        click.echo(f"{differing} account-day(s) differ", err=True)
        sys.exit(1)

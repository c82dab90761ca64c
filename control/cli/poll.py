"""``headwater poll <source>`` and ``headwater backfill <source>``: the API pollers."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from control.cli.context import pass_settings
from headwater.settings import Settings
from headwater.topology import API_SOURCES, api_source, with_service_port
from producers.base import Window
from producers.poller import Poller, PollReport
from producers.registry import build_source

SOURCE = click.Choice([source.name for source in API_SOURCES])


def _report(report: PollReport) -> None:
    for account, count in report.published.items():
        window = report.windows[account]
        click.echo(f"  {account}: {count} records, {window.since} .. {window.until}")
    for account, failure in report.failures.items():
        click.echo(f"  {account}: FAILED {failure}", err=True)


@click.command()
@click.argument("source", type=SOURCE)
@click.option("--once", is_flag=True, help="Poll every account once and exit.")
@pass_settings
def poll(settings: Settings, source: str, once: bool) -> None:
    """Poll an API on the schedule into raw.<source>.<stream> (re-pulling the lookback)."""
    if not once:
        from producers.service import serve

        entry = api_source(source)
        serve(with_service_port(settings, entry.service), entry)
        return
    report = Poller(build_source(api_source(source), settings), settings).run_once()
    _report(report)
    sys.exit(0 if report.ok else 1)


@click.command()
@click.argument("source", type=SOURCE)
@click.option("--since", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--until", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day.")
@pass_settings
def backfill(settings: Settings, source: str, since: datetime, until: datetime) -> None:
    """Pull a window of history once; the cursor never moves back."""
    poller = Poller(build_source(api_source(source), settings), settings)
    report = poller.run_once(Window(since.date(), until.date()))
    _report(report)
    sys.exit(0 if report.ok else 1)

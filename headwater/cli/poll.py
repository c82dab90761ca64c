"""``headwater poll <source>`` and ``headwater backfill <source>``: the API pollers."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from headwater.cli.context import pass_settings
from headwater.http import HealthServer
from headwater.kafka.clients import kafka_reachable
from headwater.lifecycle import stop_on_signals
from headwater.settings import Settings
from producers.base import Window
from producers.poller import Poller, PollReport
from producers.registry import SOURCES, build_source

SOURCE = click.Choice(SOURCES)


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
    poller = Poller(build_source(source, settings), settings)
    poller.prepare()
    if once:
        report = poller.run_once()
        _report(report)
        sys.exit(0 if report.ok else 1)
    checks = {"kafka": lambda: kafka_reachable(settings.kafka), "prepared": lambda: True}
    with stop_on_signals() as stop, HealthServer(settings.http.host, settings.http.port, checks):
        poller.run_forever(stop)


@click.command()
@click.argument("source", type=SOURCE)
@click.option("--since", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--until", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day.")
@pass_settings
def backfill(settings: Settings, source: str, since: datetime, until: datetime) -> None:
    """Pull a window of history once; the cursor never moves back."""
    poller = Poller(build_source(source, settings), settings)
    report = poller.run_once(Window(since.date(), until.date()))
    _report(report)
    sys.exit(0 if report.ok else 1)

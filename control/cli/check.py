"""``headwater check [SOURCE]``: settings, credentials and reachability, one line per item."""

from __future__ import annotations

import sys

import click

from control.check import CHECKS, run_checks
from control.cli.context import pass_settings
from headwater.settings import Settings


@click.command("check")
@click.argument("source", required=False, type=click.Choice(list(CHECKS)))
@pass_settings
def check(settings: Settings, source: str | None) -> None:
    """Check each configured part (each ad account and customer, the CleverTap account, the
    source database's replication prerequisites, Kafka, Connect, the warehouse) with one
    cheap read-only call, and print one line per item: ok, FAIL with what to fix, or skip.

    SOURCE checks one kind only. Exit 0 when every configured item passes, 1 when any fails
    (2: the settings themselves are wrong).
    """
    failed = 0
    for result in run_checks(settings, None if source is None else [source]):
        click.echo(result.line())
        failed += result.status == "FAIL"
    sys.exit(1 if failed else 0)

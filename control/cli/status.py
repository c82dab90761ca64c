"""``headwater status``: a one-screen summary of the running pipeline."""

from __future__ import annotations

import sys
import time

import click

from control.cli.context import pass_settings
from control.status import Target, observe, registered_targets, render, summarize, targets_folder
from headwater.settings import Settings


def _targets(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> list[Target]:
    targets = []
    for value in values:
        service, _sep, address = value.partition("=")
        host, _colon, port = address.rpartition(":")
        if not service or not host or not port.isdigit():
            raise click.BadParameter(f"{value!r} is not SERVICE=HOST:PORT")
        targets.append(Target(service, address))
    return targets


@click.command("status")
@click.option(
    "--interval",
    default=2.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds between the two scrapes that rates and window counts come from.",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="SERVICE=HOST:PORT",
    callback=_targets,
    help="Scrape this service instead of those registered with the stack's Prometheus "
    "(repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_settings
def status(settings: Settings, interval: float, targets: list[Target], as_json: bool) -> None:
    """Summarise the running pipeline from every service's /metrics and /readyz.

    Per service: up, ready (naming failing checks), version; per poller source, processor
    stage, sink and CDC connector: throughput, lag, freshness and errors. The services are
    those `headwater run` registered in the stack's Prometheus targets folder, or --target.
    A service that does not answer is shown as DOWN.

    Exit status: 0 when every service is up and ready, 1 otherwise (or when none is found).
    """
    if not targets:
        folder = targets_folder(settings.stack)
        targets = registered_targets(folder)
        if not targets:
            raise click.ClickException(
                f"no services registered in {folder} (is `headwater run` running?); "
                "name them with --target SERVICE=HOST:PORT"
            )
    summary = summarize(observe(targets, interval), time.time(), interval)
    click.echo(summary.as_json() if as_json else "\n".join(render(summary)))
    sys.exit(0 if summary.ok else 1)

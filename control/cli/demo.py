"""``headwater demo``: the whole system on this machine, with live progress (``make demo``)."""

from __future__ import annotations

import sys

import click

from control.cli.options import base_port_option, group_prefix_option
from control.demo import DemoOptions, run_demo


@click.command("demo")
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop by itself after this many seconds (default: at Ctrl-C).",
)
@click.option(
    "--rate",
    default=200.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Source-database row changes per second (0: as fast as possible).",
)
@base_port_option("First of the services' metrics ports.")
@group_prefix_option
@click.option(
    "--poll-interval",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds between API polls, unless HEADWATER_POLLER__INTERVAL_S is set.",
)
@click.option(
    "--drain-timeout",
    default=180.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="At the end, how long the processor and the sinks may take to consume everything.",
)
def demo(
    duration: float | None,
    rate: float,
    base_port: int,
    group_prefix: str,
    poll_interval: float,
    drain_timeout: float,
) -> None:
    """Run everything: the stack, sandbox APIs, a workload and the pipeline, watched live.

    At the end (after --duration, or at Ctrl-C) the producers stop, the processor and the
    sinks drain (up to --drain-timeout), everything stops, and a reconciliation per source
    and the top campaigns by ROAS are printed. Records nobody consumed are counted as
    pending. Exits 0 only when every record is accounted for; 1 when records are pending, a
    reconciliation does not hold or a service was given up.
    """
    options = DemoOptions(
        duration_s=duration,
        rate=rate,
        base_port=base_port,
        group_prefix=group_prefix,
        poll_interval_s=poll_interval,
        drain_timeout_s=drain_timeout,
    )
    sys.exit(run_demo(options))

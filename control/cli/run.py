"""``headwater run``: every service of the pipeline in one supervised process tree."""

from __future__ import annotations

import os
import sys

import click

from control.cli.context import pass_settings
from control.cli.options import base_port_option, group_prefix_option
from control.pipeline import (
    missing_pollers,
    pipeline_children,
    run_folder,
    run_setup_step,
    setup_skipped_because,
    setup_steps,
    shared_environment,
    step_environment,
)
from control.supervisor import (
    PrometheusTargets,
    Supervisor,
    endpoint_lines,
    status_lines,
    stop_on_signals,
)
from headwater.settings import Settings
from headwater.topology import ports_needed


def _say(line: str) -> None:
    click.echo(line, err=True)


@click.command("run")
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop everything after this many seconds (default: until Ctrl-C or SIGTERM).",
)
@base_port_option(
    f"Metrics ports are base, base+1, ... base+{ports_needed() - 1}, one per service."
)
@group_prefix_option
@pass_settings
def run(settings: Settings, duration: float | None, base_port: int, group_prefix: str) -> None:
    """Run the pipeline: setup steps, then the processor, sinks and pollers, supervised.

    A crashed service is restarted after a growing backoff; one that keeps crashing right
    after start is given up (the others go on, and the exit status is 1). Ctrl-C or SIGTERM
    stops all of them cleanly (SIGKILL after 30 s; a second Ctrl-C kills at once).
    """
    children = pipeline_children(settings, base_port, group_prefix)
    run_dir = run_folder(settings.stack)
    supervisor = Supervisor(
        children,
        run_dir,
        environment=shared_environment(os.environ),  # each child's secrets are in its spec
        targets=PrometheusTargets(settings.stack),
    )
    supervisor.check_ports()  # before the setup steps: fail before changing anything
    _say(f"run folder (a log per service): {run_dir}")
    skipped = setup_skipped_because(settings)
    if skipped:
        _say(f"skipping source setup and connectors apply: {skipped}")
    for step in setup_steps(settings):
        _say(f"{step.name}:")
        run_setup_step(step, run_dir, step_environment(settings, step, os.environ), _say)
    for source in missing_pollers(settings):
        _say(f"not polling {source.name}: {', '.join(source.missing(settings))} not set")
    with stop_on_signals(on_repeat=supervisor.hurry) as stop:
        supervisor.start()
        click.echo("services and their metrics:")
        for line in endpoint_lines(children):
            click.echo(line)
        until = f"for {duration:g}s" if duration else "until Ctrl-C or SIGTERM"
        click.echo(f"supervising {len(children)} services {until}", err=True)
        status = supervisor.run(stop, duration)
    click.echo("services at exit:")
    for line in status_lines(supervisor.status()):
        click.echo(line)
    if status != 0:
        failed = ", ".join(s.name for s in supervisor.failed())
        click.echo(f"headwater: run: gave up on {failed} (crash loop or terminal error)", err=True)
        sys.exit(status)

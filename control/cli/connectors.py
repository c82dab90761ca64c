"""`headwater connectors`: Debezium connectors on Kafka Connect: validate, apply, status, delete."""

from __future__ import annotations

import json
import sys

import click

from connectors.base import ConnectorFailed, ConnectorState, FieldProblem, InvalidConnectorConfig
from connectors.client import ConnectClient
from connectors.debezium_postgres import connector_config
from connectors.deployment import apply_connector, delete_connector, validate_connector
from connectors.signals import request_incremental_snapshot
from control.cli.context import pass_settings
from headwater.logs import SecretScrubber
from headwater.settings import Settings


def _client(settings: Settings) -> ConnectClient:
    return ConnectClient(settings.connect.url)


def _say_problems(problems: list[FieldProblem], scrub: SecretScrubber) -> None:
    for problem in problems:
        for message in problem.errors:
            click.echo(f"  invalid {problem.name}: {scrub(message)}", err=True)


def _say_status(status: ConnectorState, scrub: SecretScrubber, traces: bool) -> None:
    click.echo(f"connector {status.name} {status.state} (worker {status.worker_id})")
    if traces and status.state == "FAILED" and status.trace:
        click.echo(scrub(status.trace), err=True)
    for task in status.tasks:
        click.echo(f"task {task.id} {task.state} (worker {task.worker_id})")
        if traces and task.state == "FAILED" and task.trace:
            click.echo(scrub(task.trace), err=True)


@click.group()
def connectors() -> None:
    """Debezium connectors on Kafka Connect: validate, apply, status, delete."""


@connectors.command()
@pass_settings
def config(settings: Settings) -> None:
    """Print the rendered connector config as JSON, secrets masked."""
    rendered = connector_config(settings)
    click.echo(json.dumps({"name": rendered.name, "config": rendered.masked()}, indent=2))


@connectors.command()
@pass_settings
def validate(settings: Settings) -> None:
    """Check the config with Connect's config/validate; print each invalid field."""
    scrub = SecretScrubber(settings.secrets())
    try:
        validate_connector(settings, _client(settings))
    except InvalidConnectorConfig as error:
        _say_problems(error.problems, scrub)
        raise
    click.echo(f"connector {settings.cdc.connector_name}: config is valid")


@connectors.command()
@click.option(
    "--timeout", "timeout_s", default=180.0, show_default=True, help="Seconds to wait for RUNNING."
)
@pass_settings
def apply(settings: Settings, timeout_s: float) -> None:
    """Validate, create or update the connector, wait until it runs, snapshot added tables."""
    scrub = SecretScrubber(settings.secrets())
    try:
        result = apply_connector(settings, _client(settings), timeout_s=timeout_s)
    except InvalidConnectorConfig as error:
        _say_problems(error.problems, scrub)
        raise
    except ConnectorFailed as error:
        _say_status(error.status, scrub, traces=True)
        raise
    click.echo(f"connector {result.name} {result.action}")
    _say_status(result.status, scrub, traces=False)
    if not result.streaming:
        click.echo(
            "running, not streaming yet (a first snapshot in progress?): "
            "watch it with `headwater connectors status`"
        )
    if result.snapshot_signal:
        snapshotted = [t for t in result.added_tables if t not in result.not_snapshotted]
        click.echo(
            f"incremental snapshot of {', '.join(snapshotted)} requested "
            f"(signal {result.snapshot_signal})"
        )
    for table in result.not_snapshotted:
        click.echo(
            f"warning: {table} has no primary key, so Debezium cannot snapshot it "
            "incrementally: its existing rows were not captured (give it a primary key, "
            f"then run `headwater connectors snapshot {table}`)",
            err=True,
        )


@connectors.command()
@click.option("--trace", is_flag=True, help="Also print the trace of what failed.")
@pass_settings
def status(settings: Settings, trace: bool) -> None:
    """Print the connector's and each task's state; exits 0 only when all run."""
    state = _client(settings).status(settings.cdc.connector_name)
    if state is None:
        click.echo(f"connector {settings.cdc.connector_name} is not deployed")
        sys.exit(3)
    _say_status(state, SecretScrubber(settings.secrets()), traces=trace)
    if not state.running:
        sys.exit(3)


@connectors.command()
@click.option("--failed-only", is_flag=True, help="Restart only what FAILED.")
@click.option(
    "--timeout", "timeout_s", default=180.0, show_default=True, help="Seconds to wait for RUNNING."
)
@pass_settings
def restart(settings: Settings, failed_only: bool, timeout_s: float) -> None:
    """Restart the connector and its tasks, then wait until they run."""
    client = _client(settings)
    name = settings.cdc.connector_name
    scrub = SecretScrubber(settings.secrets())
    client.restart(name, include_tasks=True, only_failed=failed_only)
    try:
        state = client.wait_running(name, timeout_s=timeout_s)
    except ConnectorFailed as error:
        _say_status(error.status, scrub, traces=True)
        raise
    _say_status(state, scrub, traces=False)


@connectors.command()
@click.option(
    "--drop-slot",
    is_flag=True,
    help="Also forget the connector's offsets and drop its replication slot once inactive.",
)
@pass_settings
def delete(settings: Settings, drop_slot: bool) -> None:
    """Delete the connector (and, with --drop-slot, its offsets and replication slot)."""
    for line in delete_connector(settings, _client(settings), with_slot=drop_slot):
        click.echo(line)


@connectors.command()
@click.argument("tables", nargs=-1, required=True)
@click.option(
    "--where",
    metavar="CONDITION",
    help='Re-read only the rows matching this SQL condition, e.g. "id IN (7, 9)".',
)
@pass_settings
def snapshot(settings: Settings, tables: tuple[str, ...], where: str | None) -> None:
    """Re-read captured TABLES through the connector's signaling table (incrementally).

    Their current rows flow through the cdc.* topics like changes: the mirror gets the rows
    it lacks (a row it has is left as it is).
    """
    unknown = [table for table in tables if table not in settings.cdc.tables]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)} not in HEADWATER_CDC__TABLES", param_hint="TABLES"
        )
    signal = request_incremental_snapshot(settings, list(tables), where)
    rows = f" (rows where {where})" if where else ""
    click.echo(f"incremental snapshot of {', '.join(tables)}{rows} requested (signal {signal})")


@connectors.command()
@pass_settings
def monitor(settings: Settings) -> None:
    """Export connector, task and replication slot state on /metrics until SIGTERM."""
    from connectors.monitor import serve
    from headwater.topology import CDC_MONITOR, with_service_port

    serve(with_service_port(settings, CDC_MONITOR))

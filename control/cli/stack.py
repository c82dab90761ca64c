"""``headwater stack up | down | status | env``: the native local stack."""

from __future__ import annotations

import sys
import time

import click

from control.cli.context import pass_settings
from control.stack.base import StackError, State
from control.stack.kafka_users import ADMIN, PRINCIPALS
from control.stack.launcher import ComponentStatus, Stack
from headwater.settings import Settings


def _print_table(statuses: list[ComponentStatus]) -> None:
    for status in statuses:
        click.echo(f"  {status.name:<11} {status.state.value:<9} {status.endpoint}")


@click.group()
def stack() -> None:
    """Run Kafka, Kafka Connect + Debezium, PostgreSQL and Prometheus locally, without Docker."""


@stack.command()
@pass_settings
def up(settings: Settings) -> None:
    """Start the stack (idempotent; repairs a half-started stack) and wait until it answers."""
    started = time.monotonic()
    launcher = Stack(settings.stack, say=lambda line: click.echo(line, err=True), pipeline=settings)
    statuses = launcher.up()
    click.echo(f"stack up in {time.monotonic() - started:.1f}s (state in {launcher.state_dir})")
    _print_table(statuses)
    click.echo('use it from a shell with: eval "$(headwater stack env)"')


@stack.command()
@pass_settings
def down(settings: Settings) -> None:
    """Stop every process the stack started, and nothing else."""
    statuses = Stack(settings.stack, say=lambda line: click.echo(line, err=True)).down()
    _print_table(statuses)
    if any(status.state is not State.DOWN for status in statuses):
        sys.exit(1)


@stack.command()
@pass_settings
def status(settings: Settings) -> None:
    """Tell which components are up; exits 0 only when all are."""
    statuses = Stack(settings.stack).status()
    _print_table(statuses)
    if any(status.state is not State.UP for status in statuses):
        sys.exit(3)


@stack.command()
@click.option(
    "--secure",
    is_flag=True,
    help="The SASL_SSL listener (TLS, SCRAM, ACLs) instead of the loopback PLAINTEXT one; "
    "prints the principal's password.",
)
@click.option(
    "--principal",
    type=click.Choice(PRINCIPALS),
    default=ADMIN,
    show_default=True,
    help="Whose credentials --secure prints (admin is a super user).",
)
@pass_settings
def env(settings: Settings, secure: bool, principal: str) -> None:
    """Print the settings a shell or a test needs: eval "$(headwater stack env)".

    Only for a running stack, and it changes nothing: without one it says so (exit 2) rather
    than print addresses nothing answers on (or make a password for a stack never started).
    """
    launcher = Stack(settings.stack, pipeline=settings)
    down = [component.name for component in launcher.components if not component.running()]
    if down:
        where = settings.stack.state_dir.resolve()
        raise StackError(
            f"no running stack in {where} ({', '.join(down)} not running): "
            "start it with `headwater stack up`"
        )
    environment = launcher.secure_environment(principal) if secure else None
    click.echo(launcher.export_lines(environment), nl=False)

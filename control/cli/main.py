"""Entry point of the ``headwater`` command: settings, logging and error reporting."""

from __future__ import annotations

import io
import sys
import traceback

import click

from control.cli.check import check
from control.cli.connectors import connectors
from control.cli.context import pass_settings
from control.cli.demo import demo
from control.cli.dlq import dlq_group
from control.cli.forget import forget
from control.cli.kafka import kafka
from control.cli.poll import backfill, poll
from control.cli.reconcile import reconcile_command
from control.cli.replay import replay
from control.cli.run import run
from control.cli.sandbox import sandbox
from control.cli.services import process, sink
from control.cli.source import source
from control.cli.stack import stack
from control.cli.status import status
from control.cli.warehouse import warehouse
from headwater import __version__
from headwater.errors import HeadwaterError, Transient
from headwater.logs import configure_logging, mask_url_credentials, scrubber
from headwater.settings import Settings, load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="headwater")
@click.pass_context
def cli(context: click.Context) -> None:
    """Headwater: ad platforms, CleverTap and PostgreSQL CDC, streamed into a warehouse."""
    settings = load_settings()
    configure_logging(settings.log.level, settings.log.format, settings.secrets())
    context.obj = settings


@cli.command("settings")
@click.option("--reference", is_flag=True, help="Print every setting as the README's table.")
@click.option("--env-example", is_flag=True, help="Print every setting as .env.example.")
@pass_settings
def show_settings(settings: Settings, reference: bool, env_example: bool) -> None:
    """Print the effective settings as JSON: secrets and passwords inside URLs hidden."""
    if reference:
        from control.settings_reference import reference as table

        click.echo(table())
    elif env_example:
        from control.settings_reference import env_example as example

        click.echo(example(), nl=False)
    else:
        click.echo(mask_url_credentials(settings.model_dump_json(indent=2)))


for command in (
    stack,
    source,
    connectors,
    sandbox,
    process,
    sink,
    poll,
    backfill,
    run,
    demo,
    dlq_group,
    replay,
    kafka,
    forget,
    warehouse,
    reconcile_command,
    check,
):
    cli.add_command(command)
cli.add_command(status)


def main() -> None:
    """Run the CLI; a Headwater error becomes one line on stderr and a non-zero exit.

    Whatever it prints about an error is scrubbed like the log lines: the settings' secret
    values and credential-shaped text (a URL's password) never reach the terminal.
    """
    try:
        cli.main(standalone_mode=False)
    except HeadwaterError as error:
        click.echo(scrubber(f"headwater: {error}"), err=True)
        sys.exit(75 if isinstance(error, Transient) else 2)
    except click.exceptions.Abort:
        click.echo("headwater: aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        shown = io.StringIO()
        error.show(file=shown)
        click.echo(scrubber(shown.getvalue()), err=True, nl=False)
        sys.exit(error.exit_code)
    except Exception:  # a bug: its traceback, scrubbed, and the usual exit status
        click.echo(scrubber(traceback.format_exc()), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

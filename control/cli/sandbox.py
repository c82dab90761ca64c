"""`headwater sandbox`: local stand-ins for the source database and the SaaS APIs."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click
import psycopg

from control.cli.context import pass_settings
from headwater.errors import ConfigurationError
from headwater.postgres import verified
from headwater.settings import SandboxSettings, Settings
from producers.transport import CA_SETTING
from sandbox.source_db import prepare_source
from sandbox.source_db.errors import SourceUnavailable
from sandbox.source_db.schema import check_schema_name
from sandbox.workload import run_workload

_SCHEMA_HELP = (
    "PostgreSQL schema of the customers and orders tables "
    "[default: the schema of HEADWATER_CDC__TABLES' first table, public]"
)


def _schema_of(settings: Settings, given: str | None) -> str:
    """The schema given, or that of the captured tables (so the walkthrough's commands
    fill the tables the connector captures)."""
    name = given or settings.cdc.tables[0].split(".", 1)[0]
    check_schema_name(name)
    return name


def source_dsn(settings: Settings) -> str:
    """The source database's connection URI, which these commands cannot do without."""
    if settings.source.dsn is None:
        raise ConfigurationError("HEADWATER_SOURCE__DSN", "is required")
    return settings.source.dsn.get_secret_value()


@click.group()
def sandbox() -> None:
    """Local stand-ins: the source-database workload and the SaaS API servers."""


@sandbox.command("schema")
@click.option("--schema", "schema_name", default=None, help=_SCHEMA_HELP)
@click.option("--customers", default=1_000, show_default=True, type=click.IntRange(min=0))
@click.option("--orders", default=5_000, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", default=1, show_default=True, help="seed of the generated rows")
@pass_settings
def schema_command(
    settings: Settings, schema_name: str | None, customers: int, orders: int, seed: int
) -> None:
    """Create the source tables (idempotent) and seed them when they are empty."""
    schema_name = _schema_of(settings, schema_name)
    if orders and not customers:
        raise click.BadParameter("orders need at least one customer", param_hint="--customers")
    try:
        with psycopg.connect(verified(source_dsn(settings)), connect_timeout=10) as connection:
            result = prepare_source(connection, schema_name, customers, orders, seed)
    except psycopg.OperationalError as error:
        raise SourceUnavailable(f"source database: {error}") from error
    state = "seeded with" if result.seeded else "already holds"
    click.echo(
        f"schema {schema_name}: tables customers and orders ready; "
        f"{state} {result.customers} customers and {result.orders} orders"
    )


@sandbox.command()
@click.option(
    "--rate",
    default=1_000.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="row changes per second (0: as fast as possible)",
)
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="stop after seconds")
@click.option("--changes", type=click.IntRange(min=1), help="stop after this many row changes")
@click.option("--seed", default=1, show_default=True, help="seed of the generated changes")
@click.option("--schema", "schema_name", default=None, help=_SCHEMA_HELP)
@pass_settings
def workload(
    settings: Settings,
    rate: float,
    duration: float | None,
    changes: int | None,
    seed: int,
    schema_name: str | None,
) -> None:
    """Insert, update and delete source rows at a steady rate, in multi-statement transactions.

    Stops after --duration seconds or --changes row changes, whichever comes first (or on
    Ctrl-C / SIGTERM, after the current transaction), and prints what it committed.
    """
    if duration is None and changes is None:
        raise click.UsageError("give --duration, --changes or both")
    dsn = source_dsn(settings)
    with _stop_on_signals() as stop:
        stats = run_workload(
            dsn,
            rate=rate or None,
            duration_s=duration,
            changes=changes,
            seed=seed,
            schema=_schema_of(settings, schema_name),
            stop=stop,
        )
    click.echo(stats.summary())


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event that SIGINT and SIGTERM set (instead of interrupting a transaction)."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@sandbox.command()
@click.option("--ads-per-adset", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--adsets-per-campaign", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--ad-groups-per-campaign", default=2, show_default=True, type=click.IntRange(1, 99))
@click.option(
    "--tls",
    is_flag=True,
    help="Serve HTTPS with the local stack's certificate (its CA made when missing).",
)
@pass_settings
def serve(
    settings: Settings,
    ads_per_adset: int,
    adsets_per_campaign: int,
    ad_groups_per_campaign: int,
    tls: bool,
) -> None:
    """Serve the Facebook, Google Ads and CleverTap stand-ins until SIGTERM or Ctrl-C.

    Prints the HEADWATER_* settings that point Headwater at them, for `eval`: with --tls
    (or HEADWATER_SANDBOX__CERT_FILE and KEY_FILE) over HTTPS, else over plain HTTP
    declared as local development (HEADWATER_POLLER__PLAIN_HTTP).
    """
    from sandbox.apis import sandbox_apis

    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sandbox_settings, environment = settings.sandbox, dict[str, str]()
    if tls:
        sandbox_settings, environment = stack_certificate(settings)
    apis = sandbox_apis(
        sandbox_settings,
        ads_per_adset=ads_per_adset,
        adsets_per_campaign=adsets_per_campaign,
        ad_groups_per_campaign=ad_groups_per_campaign,
    )
    with apis:
        for name, value in (apis.environment() | environment).items():
            click.echo(f"export {name}={shlex.quote(value)}")
        sys.stdout.flush()
        stop.wait()


def stack_certificate(settings: Settings) -> tuple[SandboxSettings, dict[str, str]]:
    """The sandbox settings that serve the stack's server certificate (made when missing),
    and the poller setting that trusts its CA."""
    from control.stack.launcher import Stack

    tls = Stack(settings.stack).tls
    tls.ensure(("localhost", settings.stack.host, settings.sandbox.host))
    served = settings.sandbox.model_copy(
        update={"cert_file": tls.server_cert, "key_file": tls.server_key}
    )
    return served, {CA_SETTING: str(tls.ca_cert)}

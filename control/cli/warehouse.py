"""``headwater warehouse setup``: a login role per sink and a read-only analyst role."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import click

from control.cli.context import pass_settings
from headwater.errors import ConfigurationError
from headwater.postgres import connect
from headwater.settings import Settings
from sinks.roles import DEFAULT_PREFIX, analyst_role, set_up_roles, sink_roles


@click.group()
def warehouse() -> None:
    """The warehouse's roles."""


def dsn_as(admin_dsn: str, role: str, password: str) -> str:
    """The admin's URI with another user and password (host, database and TLS kept)."""
    parts = urlsplit(admin_dsn)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def kept_passwords(credentials_file: Path) -> dict[str, str]:
    """The passwords of the roles a previous run wrote to ``credentials_file`` (none if absent).

    A file of another shape is refused without quoting it (it may hold passwords)."""
    if not credentials_file.exists():
        return {}
    try:
        entries = json.loads(credentials_file.read_text())
        return {str(role): str(entry["password"]) for role, entry in entries.items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ConfigurationError(
            "--credentials-file",
            f"{credentials_file} is not a credentials file written by warehouse setup",
        ) from None


def save_credentials(credentials_file: Path, admin_dsn: str, passwords: dict[str, str]) -> None:
    """Each role's password and DSN (the admin's, as that role), readable by the owner only:
    the file is made or narrowed to mode 600 before the passwords are written."""
    credentials = {
        role: {"password": password, "dsn": dsn_as(admin_dsn, role, password)}
        for role, password in passwords.items()
    }
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    credentials_file.touch(mode=0o600, exist_ok=True)
    credentials_file.chmod(0o600)
    credentials_file.write_text(json.dumps(credentials, indent=2) + "\n")


@warehouse.command()
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="JSON file (mode 600) of each sink role's password and DSN; read to keep passwords.",
)
@click.option("--role-prefix", default=DEFAULT_PREFIX, show_default=True)
@click.option("--rotate", is_flag=True, help="Give every sink role a new password.")
@pass_settings
def setup(settings: Settings, credentials_file: Path, role_prefix: str, rotate: bool) -> None:
    """Create the roles and grants, as the warehouse DSN's (admin) user; idempotent.

    Each sink's role owns its own tables and only its rows of the shared bookkeeping; the
    analyst role (no login: grant it to people) reads every data table. The passwords go to
    the credentials file only, never to the terminal.
    """
    if settings.warehouse.dsn is None:
        raise ConfigurationError("HEADWATER_WAREHOUSE__DSN", "is needed (an admin's DSN)")
    admin = settings.warehouse.dsn.get_secret_value()
    kept = kept_passwords(credentials_file)
    with connect(admin, settings.warehouse, autocommit=False) as connection:
        passwords = set_up_roles(connection, settings, kept, role_prefix, rotate)
        connection.commit()
    save_credentials(credentials_file, admin, passwords)
    for role in sink_roles(settings, role_prefix):
        click.echo(f"sink {role.sink}: role {role.role}")
    click.echo(f"analysts: role {analyst_role(role_prefix)} (grant it to people)")
    click.echo(f"passwords and DSNs: {credentials_file} (mode 600)")

"""``headwater kafka acls``: the ACLs each service principal needs, printed or applied."""

from __future__ import annotations

import click

from control.cli.context import pass_settings
from headwater.kafka.acls import apply_grants, service_grants
from headwater.kafka.clients import make_admin
from headwater.settings import Settings


@click.group()
def kafka() -> None:
    """Kafka administration: least-privilege ACLs for the services' principals."""


@kafka.command()
@click.option(
    "--apply",
    "apply_them",
    is_flag=True,
    help="Create them on the cluster (needs an Alter-on-cluster principal; idempotent).",
)
@click.option(
    "--principal-prefix",
    default="",
    help="Prepended to every principal name (e.g. 'prod-' for User:prod-poller).",
)
@pass_settings
def acls(settings: Settings, apply_them: bool, principal_prefix: str) -> None:
    """Print (or --apply) what the poller, processor, sink and connect principals may do.

    Everything else is refused when the cluster runs with allow.everyone.if.no.acl.found=false.
    """
    grants = {
        f"{principal_prefix}{principal}": own for principal, own in service_grants(settings).items()
    }
    for principal, own in grants.items():
        click.echo(f"User:{principal}")
        for grant in own:
            click.echo(f"  {grant.describe()}")
    if apply_them:
        count = apply_grants(make_admin(settings.kafka), grants)
        click.echo(f"applied {count} ACL bindings to {settings.kafka.bootstrap_servers}")

"""``headwater forget``: erase one person from the warehouse and the compacted topics."""

from __future__ import annotations

import click

from control import erasure
from control.cli.context import pass_settings
from headwater.settings import Settings


@click.command()
@click.option("--email", help="The person's email address (CDC mirrors and app events).")
@click.option("--identity", help="The person's CleverTap identity (app events).")
@pass_settings
def forget(settings: Settings, email: str | None, identity: str | None) -> None:
    """Delete a person's rows (found by pseudonym), tombstone their keys, audit the request."""
    if (email is None) == (identity is None):
        raise click.UsageError("give exactly one of --email and --identity")
    kind: erasure.Kind = "email" if email is not None else "identity"
    done = erasure.forget(settings, kind, email if email is not None else str(identity))
    click.echo(
        f"erasure {done.id}: {kind} pseudonym {done.pseudonym} (keys {', '.join(done.key_ids)})"
    )
    for table, count in sorted(done.deleted.items()):
        click.echo(f"  deleted {count} rows from {table}")
    for topic, count in sorted(done.tombstones.items()):
        click.echo(f"  wrote {count} tombstones to {topic}")

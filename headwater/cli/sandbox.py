"""`headwater sandbox`: local stand-ins for the source database and the SaaS APIs."""

from __future__ import annotations

import click


@click.group()
def sandbox() -> None:
    """Local stand-ins: the source-database workload (and, later, the SaaS API servers)."""

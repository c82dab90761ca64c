"""`headwater connectors`: Debezium connectors on Kafka Connect: validate, apply, status, delete."""

from __future__ import annotations

import click


@click.group()
def connectors() -> None:
    """Debezium connectors on Kafka Connect: validate, apply, status, delete."""

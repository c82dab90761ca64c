"""`headwater source`: Prepare the source database for change data capture."""

from __future__ import annotations

import click


@click.group()
def source() -> None:
    """Prepare the source database for change data capture."""

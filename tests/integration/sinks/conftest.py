"""The sinks' integration tests: a warehouse connection whose test schema is dropped after."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from headwater.settings import Settings


@pytest.fixture
def warehouse(settings: Settings, unique_name: str) -> Iterator[psycopg.Connection]:
    """A warehouse connection; the schema named ``unique_name`` (and the mirror writer's
    deletion log of its orders) are dropped when the test ends."""
    assert settings.warehouse.dsn is not None
    with psycopg.connect(settings.warehouse.dsn.get_secret_value()) as connection:
        yield connection
        connection.rollback()
        connection.execute(f'DROP SCHEMA IF EXISTS "{unique_name}" CASCADE')
        connection.execute(f'DROP TABLE IF EXISTS headwater."deleted_{unique_name}__orders"')
        connection.commit()
